"""`rfisher sweep` on Dask with a results store: the table is the same, bit for bit, after the client is
killed and the sweep resumed, after a worker is killed, and whatever the chunking; a store of other
settings is refused; the comparison itself notices a changed criterion or a perturbed start."""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rfisher import store as S
from rfisher import sweep as SW
from rfisher.statistics import wilson_interval

ROOT = Path(__file__).resolve().parents[1]

#: Small, d = 1: 24 tasks of 4 seeds, each a fraction of a second, so a kill lands mid-run.
GRID = "J=2 d=1 delta=2,3,4,5 seeds=24"
CHUNK = 4
SETTINGS = SW.C3Settings(steps=1500)


def _reference(tmp_path, grid=GRID, chunk=CHUNK, settings=SETTINGS, name="reference.sqlite"):
    """The table of an uninterrupted serial run (no Dask), and its settings."""
    with S.Store.open(tmp_path / name, settings.as_json()) as st:
        info = SW.run_sweep(SW.make_tasks(SW.parse_grid(grid), chunk), settings, st)
        assert info["failed"] == []
        return st.table()


def _rows(path) -> int:
    try:
        with sqlite3.connect(str(path), timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def _cli(*args):
    return [sys.executable, "-m", "rfisher.cli", "sweep", "--grid", GRID, "--chunk", str(CHUNK),
            "--steps", str(SETTINGS.steps), "--workers", "2", "--no-progress", *args]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_resume_after_killing_the_client(tmp_path):
    ref = _reference(tmp_path)  # also compiles, so the workers load from the cache
    total = len(ref["seed"])
    store = tmp_path / "killed.sqlite"
    proc = subprocess.Popen(_cli("--store", str(store)), cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _rows(store) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client, its local cluster and its workers (our process group)
        proc.wait()
    kept = _rows(store)
    assert 0 < kept < total, f"the kill did not land mid-run ({kept} of {total} rows kept)"
    # a second run without --resume is refused; with --resume it completes
    again = subprocess.run(_cli("--store", str(store)), cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr
    done = subprocess.run(_cli("--store", str(store), "--resume"), cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "already in the store" in done.stderr
    with S.Store.read(store) as st:
        table = st.table()
    assert len(table["seed"]) == total
    assert S.table_bytes(table) == S.table_bytes(ref)


def test_killing_a_worker_loses_nothing(tmp_path):
    from distributed import Client

    ref = _reference(tmp_path)
    killed = []
    cluster = SW.local_cluster(2)
    try:
        with Client(cluster) as client, S.Store.open(tmp_path / "worker.sqlite", SETTINGS.as_json()) as st:
            pids = client.run(os.getpid)  # worker address -> pid (processes our cluster started)

            def kill_one(task):
                if not killed:
                    pid = sorted(pids.values())[0]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

            info = SW.run_sweep(SW.make_tasks(SW.parse_grid(GRID), CHUNK), SETTINGS, st, client, on_result=kill_one)
            table = st.table()
        # the function the report can use to put its experiments on Dask: results in order, as computed here
        few = SW.make_tasks(SW.parse_grid("J=2 d=1 delta=2,3 seeds=4"), 2)
        mapped = SW.map_tasks(functools.partial(SW.c3_rows, settings=SETTINGS), few, scheduler=cluster.scheduler_address)
        assert mapped == [SW.c3_rows(t, SETTINGS) for t in few]
    finally:
        cluster.close()
    assert killed and info["failed"] == []
    assert S.table_bytes(table) == S.table_bytes(ref)


def test_chunking_does_not_change_the_table(tmp_path):
    grid = "J=3 d=1 delta=2,4 seeds=10"
    settings = SW.C3Settings(steps=300)
    a = _reference(tmp_path, grid, 10, settings, "a.sqlite")
    b = _reference(tmp_path, grid, 3, settings, "b.sqlite")
    assert S.table_bytes(a) == S.table_bytes(b)


def test_a_store_of_other_settings_is_refused(tmp_path, capsys):
    from rfisher import cli

    store = tmp_path / "s.sqlite"
    base = ["sweep", "--grid", "J=2 d=1 delta=3 seeds=4", "--steps", "50", "--serial", "--no-progress", "--store", str(store)]
    assert cli.main(base) == 0
    capsys.readouterr()
    assert cli.main([*base[:-2], "--store", str(store), "--resume", "--eps", "0.2"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "eps" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(S.SettingsMismatch):
        S.Store.open(store, SW.C3Settings(steps=51).as_json())
    # a new store path is accepted
    assert cli.main([*base[:-2], "--store", str(tmp_path / "new.sqlite"), "--eps", "0.2"]) == 0


def test_the_comparison_notices_a_changed_criterion_or_start(tmp_path, monkeypatch):
    """The bit-for-bit comparison is not vacuous: a looser success tolerance changes the success column at
    Δ = 2 (where some runs end at the wrong mode, max distance ≈ Δ), and a start moved by 1e−9 changes the
    distances after 10 steps (after 200 steps GD has reached its floating-point fixed point at d = 1, so
    a moved start no longer shows there)."""
    grid, settings = "J=2 d=1 delta=2 seeds=16", SW.C3Settings(steps=200)
    base = _reference(tmp_path, grid, 16, settings, "base.sqlite")
    assert 0 < base["success"].sum() < 16
    loose = _reference(tmp_path, grid, 16, SW.C3Settings(steps=200, eps=2.5), "loose.sqlite")
    assert not np.array_equal(base["success"], loose["success"])
    assert np.array_equal(base["max_distance"], loose["max_distance"])  # same runs, other criterion
    # the success column is the criterion: every component within ε of its start's nearest mode
    assert np.array_equal(base["success"].astype(bool), (base["max_distance"] <= settings.eps) & (base["diverged"] == 0))

    from rfisher import setups

    short = SW.C3Settings(steps=10)
    base = _reference(tmp_path, grid, 16, short, "short.sqlite")
    original = setups.initializations
    monkeypatch.setattr(setups, "initializations", lambda *a, **k: original(*a, **k) + 1e-9)
    moved = _reference(tmp_path, grid, 16, short, "moved.sqlite")
    assert S.table_bytes(moved) != S.table_bytes(base)
    assert not np.array_equal(moved["max_distance"], base["max_distance"])


def test_grid_syntax_and_bad_input(capsys):
    g = SW.parse_grid("J=2,3 K=J d=1,2 Δ=2,3.5 seeds=5:9")
    assert g["J"] == [2, 3] and g["d"] == [1, 2] and g["delta"] == [2.0, 3.5] and g["seeds"] == range(5, 9)
    tasks = SW.make_tasks(g, 3)
    assert len(tasks) == 2 * 2 * 2 * 2 and all(t.K == t.J for t in tasks)
    for bad, word in (("J=0 d=1 delta=2 seeds=3", "J"), ("J=2 d=1 delta=nan seeds=3", "delta"),
                      ("J=2 d=1 delta=2", "seeds"), ("J=2 q=1 d=1 delta=2 seeds=3", "q")):
        with pytest.raises(ValueError, match=word):
            SW.parse_grid(bad)
    from rfisher import cli

    assert cli.main(["sweep", "--grid", "J=2 d=x delta=2 seeds=3", "--serial"]) == 2
    assert "bad values for d" in capsys.readouterr().err
    assert cli.main(["sweep", "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err
    assert cli.main(["sweep", "--plot", "/nonexistent.sqlite"]) == 2


def test_plot_redraws_from_a_store(tmp_path):
    from rfisher import cli

    store = tmp_path / "s.sqlite"
    assert cli.main(["sweep", "--grid", "J=2,3 d=1 delta=2,6 seeds=8", "--steps", "300", "--serial", "--no-progress",
                     "--store", str(store)]) == 0
    out = tmp_path / "out"
    assert cli.main(["sweep", "--plot", str(store), "--out", str(out)]) == 0
    for name in ("c3_sweep.csv", "c3_sweep.parquet", "c3_sweep.png"):
        assert (out / name).stat().st_size > 0
    import pyarrow.parquet as pq

    with S.Store.read(store) as st:
        table = st.table()
    pt = pq.read_table(out / "c3_sweep.parquet")
    assert np.array_equal(pt.column("max_distance").to_numpy(), table["max_distance"], equal_nan=True)
    csv = np.genfromtxt(out / "c3_sweep.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    assert np.array_equal(csv["max_distance"], table["max_distance"])  # repr round-trips


# --- Monte Carlo (reduced dimension above 3) -----------------------------------------------------------------


def test_c3_success_fraction_is_stable_when_the_monte_carlo_sample_doubles():
    """J = K = 3 in d = 4 runs on Monte Carlo gradients (a fixed common sample of antithetic pairs). Doubling
    the sample from 256 to 512 pairs leaves C3's success fraction inside its 95% Wilson interval, both ways,
    near the transition (Δ = 3, 3.5). The check has teeth: with 128 pairs the fraction at Δ = 3.5 is 7/24
    against 21/24 with 256 (the sample-average objective moves the split of two components sharing a mode
    across ε), and this assertion fails."""
    for delta in (3.0, 3.5):
        fractions = []
        for pairs in (256, 512):
            rows = SW.c3_rows(SW.Task(3, 3, 4, delta, 0, 24), SW.C3Settings(steps=150, samples=pairs))
            assert {r["rule"] for r in rows} == {"montecarlo"}
            # every value carries its error (three standard errors of the Monte Carlo mean), finite and > 0
            err = np.array([r["final_R_error"] for r in rows])
            assert np.all(np.isfinite(err) & (err > 0))
            k = sum(r["success"] for r in rows)
            fractions.append((k / len(rows), wilson_interval(k, len(rows))))
        (f1, (lo1, hi1)), (f2, (lo2, hi2)) = fractions
        assert lo1 <= f2 <= hi1 and lo2 <= f1 <= hi2, (delta, fractions)


def test_monte_carlo_summaries_say_the_gradients_are_stochastic(tmp_path):
    settings = SW.C3Settings(steps=20, samples=64)
    table = _reference(tmp_path, "J=3 d=4 delta=4 seeds=3", 3, settings, "mc.sqlite")
    assert set(table["rule"]) == {"montecarlo"}
    text = "\n".join(SW.describe(SW.summarize(table), settings.as_json(), 0.9))
    assert "stochastic" in text and "64 antithetic pairs" in text
