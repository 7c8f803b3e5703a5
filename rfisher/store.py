"""The results store of ``rfisher sweep``: one SQLite file, one row per (experiment, J, K, d, Δ, seed).

Why SQLite and not a Parquet dataset. A sweep writes many small results (one task = a chunk of seeds
of one grid point, a few kilobytes) from one client while it runs, and must survive being killed at
any moment. SQLite (Python's standard library, no extra dependency) gives that directly: each task's
rows go in one transaction, so a kill loses at most the task being written, never half a task, and the
write-ahead log (WAL) keeps readers (``--plot`` while a sweep runs) off the writer's back. The primary
key (experiment, J, K, d, Δ, seed, settings hash) makes a row that is computed twice (a task re-run
after a worker was killed, or a resumed sweep) a no-op, and "which keys are done" is one indexed query.
A Parquet dataset would need one file per task, an atomic rename each, and a compaction step to stay
readable; Parquet (and CSV) is kept as the *export* format: ``export`` writes the finished table.

Settings. Everything that changes the numbers (steps, η, tolerances, scheme, layout, the integration
rule, the code version of the algorithms and derivations, ...) is a JSON object; its hash, the sha256 of
the canonical JSON (sorted keys, no spaces), is stored once in the file and in every row. A store opened
with other settings raises ``SettingsMismatch``: results of different settings are never mixed.

Floats are stored as SQLite REAL (IEEE binary64), so they round-trip bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

import numpy as np

SCHEMA_VERSION = 1

#: The key columns of a row, in order.
KEY = ("experiment", "J", "K", "d", "delta", "seed")
#: The result columns of a row (besides the key and the settings hash), with their SQLite types.
VALUES = (("success", "INTEGER"), ("diverged", "INTEGER"), ("max_distance", "REAL"), ("final_R", "REAL"),
          ("final_R_error", "REAL"), ("steps", "INTEGER"), ("rule", "TEXT"))
COLUMNS = KEY + ("settings_hash",) + tuple(name for name, _ in VALUES)


class StoreError(ValueError):
    """A store that cannot be used as asked (its message is one line, for the command line)."""


class SettingsMismatch(StoreError):
    """The store holds results computed with other settings."""


def canonical_json(settings: dict) -> str:
    """The canonical JSON text of ``settings``: sorted keys, no spaces, finite numbers only."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True)


def settings_hash(settings: dict) -> str:
    """sha256 (hex) of the canonical JSON of ``settings``."""
    return hashlib.sha256(canonical_json(settings).encode()).hexdigest()


def _differences(old: dict, new: dict, prefix="") -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} in the store, {b!r} now")
    return out


class Store:
    """An SQLite results store bound to one settings hash. Open with ``Store.open`` (to write) or
    ``Store.read`` (an existing store, its own settings)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, settings: dict, digest: str):
        self.path, self.conn, self.settings, self.hash = path, conn, settings, digest

    # --- opening --------------------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), timeout=60.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed task survives a process kill
        return conn

    @classmethod
    def open(cls, path, settings: dict) -> Store:
        """Open (creating if needed) the store at ``path`` for results computed with ``settings``.
        Raises SettingsMismatch, naming the differing settings, if the store holds other settings."""
        path = Path(path)
        if path.exists() and path.is_dir():
            raise StoreError(f"store path {str(path)!r} is a folder; give a file such as {str(path / 'sweep.sqlite')!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = settings_hash(settings)
        conn = cls._connect(path)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            have = dict(conn.execute("SELECT name, value FROM meta").fetchall())
            if not have:
                cls._create(conn, settings, digest)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        if have and have.get("settings_hash") != digest:
            conn.close()
            diff = _differences(json.loads(have.get("settings", "{}")), settings)
            raise SettingsMismatch(f"store {str(path)!r} holds results of other settings (hash "
                                   f"{have.get('settings_hash', '?')[:12]} ≠ {digest[:12]}: {'; '.join(diff[:3]) or '?'}); "
                                   "give a new store path")
        return cls(path, conn, settings, digest)

    @classmethod
    def read(cls, path) -> Store:
        """Open an existing store with the settings it was written with."""
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"store {str(path)!r} does not exist")
        try:
            conn = cls._connect(path)
            have = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{str(path)!r} is not an rfisher results store ({exc})") from exc
        if "settings_hash" not in have:
            raise StoreError(f"{str(path)!r} is not an rfisher results store (no settings)")
        return cls(path, conn, json.loads(have["settings"]), have["settings_hash"])

    @staticmethod
    def _create(conn, settings, digest):
        cols = ", ".join(f"{name} {kind}" for name, kind in VALUES)
        conn.execute(f"""CREATE TABLE IF NOT EXISTS results (
            experiment TEXT NOT NULL, J INTEGER NOT NULL, K INTEGER NOT NULL, d INTEGER NOT NULL,
            delta REAL NOT NULL, seed INTEGER NOT NULL, settings_hash TEXT NOT NULL, {cols},
            PRIMARY KEY (experiment, J, K, d, delta, seed, settings_hash))""")
        conn.execute("""CREATE TABLE IF NOT EXISTS tasks (
            task TEXT PRIMARY KEY, rows INTEGER NOT NULL, seconds REAL NOT NULL, worker TEXT, finished REAL NOT NULL)""")
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("settings_hash", digest), ("settings", canonical_json(settings)),
            ("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- writing and reading --------------------------------------------------------------------------

    def write(self, rows: list[dict], task: str = "", seconds: float = 0.0, worker: str = "") -> int:
        """Write one task's rows in one transaction (all or nothing); a row whose key is already there is
        left as it is. Returns the number of rows new to the store."""
        values = [tuple(r[c] for c in KEY) + (self.hash,) + tuple(r[c] for c, _ in VALUES) for r in rows]
        marks = ", ".join("?" * len(COLUMNS))
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            before = self.conn.total_changes
            self.conn.executemany(f"INSERT OR IGNORE INTO results ({', '.join(COLUMNS)}) VALUES ({marks})", values)
            new = self.conn.total_changes - before
            if task:
                self.conn.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)",
                                  (task, len(rows), float(seconds), worker, time.time()))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return new

    def done_keys(self) -> set[tuple]:
        """The keys (experiment, J, K, d, Δ, seed) already in the store."""
        return set(self.conn.execute(f"SELECT {', '.join(KEY)} FROM results WHERE settings_hash = ?", (self.hash,)))

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def task_seconds(self) -> np.ndarray:
        """Wall seconds of every task written (as measured on its worker)."""
        return np.array([r[0] for r in self.conn.execute("SELECT seconds FROM tasks")], dtype=float)

    def table(self) -> dict[str, np.ndarray]:
        """Every row, sorted by key, as columns (numpy arrays)."""
        cur = self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM results WHERE settings_hash = ? "
                                f"ORDER BY {', '.join(KEY)}", (self.hash,))
        rows = cur.fetchall()
        cols = {}
        for i, name in enumerate(COLUMNS):
            kind = dict(VALUES).get(name, "REAL" if name == "delta" else ("TEXT" if name in ("experiment", "settings_hash")
                                                                            else "INTEGER"))
            data = [r[i] for r in rows]
            if kind == "REAL":
                cols[name] = np.array([np.nan if v is None else v for v in data], dtype=np.float64)
            elif kind == "INTEGER":
                cols[name] = np.array(data, dtype=np.int64)
            else:
                cols[name] = np.array(data, dtype=object)
        return cols


def table_bytes(table: dict[str, np.ndarray]) -> bytes:
    """A canonical byte string of a table (every column, in order): equal bytes ⇔ equal tables bit for bit
    (NaNs included)."""
    h = hashlib.sha256()
    for name in COLUMNS:
        col = table[name]
        h.update(name.encode())
        h.update(("\x00".join(map(str, col))).encode() if col.dtype == object else np.ascontiguousarray(col).tobytes())
    return h.digest()


def export(table: dict[str, np.ndarray], folder, settings: dict | None = None, stem: str = "sweep") -> list[Path]:
    """Write the table as ``folder/stem.csv`` (with the settings and their hash in ``stem.settings.json``)
    and ``folder/stem.parquet`` (every column, the settings in its metadata). CSV floats are written with
    repr (round-trip exact)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / f"{stem}.csv"
    paths = [csv]
    names = [c for c in COLUMNS if c != "settings_hash"]
    with open(csv, "w") as fh:
        fh.write(",".join(names) + "\n")
        n = len(table["seed"])
        for i in range(n):
            fh.write(",".join(repr(float(table[c][i])) if table[c].dtype == np.float64 else str(table[c][i])
                              for c in names) + "\n")
    if settings is not None:  # the settings once, beside the table (the store and the Parquet file keep the hash)
        (folder / f"{stem}.settings.json").write_text(json.dumps({"settings_hash": settings_hash(settings),
                                                                  "settings": settings}, indent=1, sort_keys=True) + "\n")
        paths.append(folder / f"{stem}.settings.json")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is an optional dependency
        return paths
    arrays = {c: (pa.array(list(table[c]), type=pa.string()) if table[c].dtype == object else pa.array(table[c]))
              for c in COLUMNS}
    meta = {"rfisher.settings": canonical_json(settings)} if settings is not None else {}
    t = pa.table(arrays).replace_schema_metadata(meta)
    pq.write_table(t, folder / f"{stem}.parquet")
    paths.append(folder / f"{stem}.parquet")
    return paths
