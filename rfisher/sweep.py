"""``rfisher sweep``: the C3 separation sweep over (J, K, d, Δ) as independent Dask tasks, kept in a store.

Claim C3 (docs/theory.md, "Claims", C3): with separation Δ = min_{j≠k} ||ν_j − ν_k|| ≥ Ω̃(1), reverse GD
from an initialization drawn from p ends with every student component within ε of the teacher mean
nearest its start, with high probability. A grid point (J, K, d, Δ) is run for many seeds; its success
fraction gets a 95% Wilson interval (``rfisher.statistics.wilson_interval``) and the transition Δ* is the
smallest Δ on the grid whose lower end exceeds ``level`` (``rfisher.statistics.threshold``).

One row per seed. The row of seed s at (J, K, d, Δ) depends on nothing else: the teacher is the
"random" layout of ``rfisher.setups`` with the sweep's fixed ``teacher_seed`` (its shape does not depend
on Δ: the layout is drawn at scale 1 and rescaled), the K initial means are drawn from p with
``numpy.random.default_rng(s)``, and batched GD (``rfisher.descent.gradient_descent``) gives every
trajectory bit for bit the same numbers whatever batch it sits in. So a task (a grid point and a chunk of
seeds) can run anywhere, in any order, in any chunking, and the table is the same, bit for bit.

Tasks are submitted to ``dask.distributed``: by default an embedded LocalCluster with one worker process
per core and one thread each; ``--scheduler ADDRESS`` uses an existing cluster (e.g. one started by
dask-jobqueue on a batch system). The client writes each task's rows into the store
(``rfisher.store``) as it completes; ``--resume`` skips the keys already there, so a sweep killed at any
point loses only the tasks in flight.

Gradients. The integration rule is "auto": the error-controlled quadrature where the reduced dimension
min(d, K + J − 2) is at most ``grid_up_to`` (3 by default, as descent's own "auto" rule), Monte Carlo
above (``rfisher.montecarlo``: a fixed sample of ``samples`` antithetic pairs, common to every
trajectory, step and component — common random numbers — so GD runs on one fixed sample-average
objective, deterministic in ``mc_seed``; every value and gradient carries its standard error, and GD's
error is three of them). Rows record which rule ran, and the summary says when gradients were
stochastic.

Grid syntax (``--grid``): space-separated ``name=values`` with names J, K, d, delta (or Δ), seeds:
``"J=2,3,5 K=J d=1,2,3 delta=2,3,3.5,4,5 seeds=100"``. Values are comma lists; K=J (the default)
means K equal to J; ``seeds=N`` means 0..N−1 and ``seeds=A:B`` means A..B−1.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rfisher import store as S
from rfisher import validation as V
from rfisher.statistics import sqrt_log_fit, threshold, wilson_interval

EXPERIMENT = "c3"

# --- argument types (the validation layer's) ------------------------------------------------------------

positive_int = V.cli_int(1)
positive_float = V.cli_positive_float


level_float = V.cli_open_unit


# --- settings and tasks --------------------------------------------------------------------------------


def code_version() -> dict:
    """What identifies the code that makes the numbers: sha256 of the algorithm modules (those that name
    rfisher.compiled's cache), of the teacher/initialization code, of derivations/, numba's and numpy's
    versions, and the text of ``c3_rows`` and ``nearest`` (the experiment itself)."""
    import inspect

    import numba

    from rfisher import compiled, generated_modules

    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in (*compiled._ALGORITHMS, "setups.py", "mixture.py"):
        path = here / name
        if path.exists():
            h.update(name.encode())
            h.update(path.read_bytes())
    from rfisher.mixture_teacher import nearest

    for fn in (c3_rows, nearest):
        h.update(inspect.getsource(fn).encode())
    return {"algorithms": h.hexdigest()[:16], "derivations": generated_modules.derivation_hash()[:16],
            "numba": numba.__version__, "numpy": np.__version__}


@dataclass(frozen=True)
class C3Settings:
    """Everything that changes a C3 row's numbers (its hash keys the store). Defaults: the C3 claim's
    constants (rfisher.claims.mixture)."""

    steps: int = 600
    step_size: float = 0.3
    eps: float = 0.3
    rtol: float = 1e-6
    atol: float = 1e-10
    scheme: str = "teacher"
    layout: str = "random"
    teacher_seed: int = 0
    rule: str = "auto"
    grid_up_to: int = 3
    samples: int = 4096
    mc_seed: int = 0

    def as_json(self) -> dict:
        return {"experiment": EXPERIMENT, **asdict(self), "code": code_version()}


@dataclass(frozen=True)
class Task:
    """One grid point and a chunk of seeds [seed_start, seed_stop)."""

    J: int
    K: int
    d: int
    delta: float
    seed_start: int
    seed_stop: int

    @property
    def seeds(self) -> range:
        return range(self.seed_start, self.seed_stop)

    def key(self, digest: str = "") -> str:
        return f"{EXPERIMENT}-J{self.J}-K{self.K}-d{self.d}-D{self.delta!r}-s{self.seed_start}:{self.seed_stop}-{digest[:12]}"

    def row_keys(self) -> list[tuple]:
        return [(EXPERIMENT, self.J, self.K, self.d, float(self.delta), s) for s in self.seeds]


def c3_rows(task: Task, settings: C3Settings) -> list[dict]:
    """The C3 rows of a task: reverse GD from each seed's initialization, all seeds in one batch.
    success = every component ends within ε of the teacher mean nearest its start and nothing diverged
    (as ``rfisher.mixture_teacher.c3_experiment``)."""
    from rfisher import setups
    from rfisher.descent import gradient_descent
    from rfisher.mixture_teacher import nearest

    J, K, d = task.J, task.K, task.d
    teacher = setups.make_teacher(settings.layout, J, d, task.delta, seed=settings.teacher_seed)
    init = np.stack([setups.initializations(settings.scheme, teacher, K, 1, seed=s)[0] for s in task.seeds])
    w = np.full(K, 1.0 / K)
    rule = settings.rule
    if rule == "auto":
        rule = "grid" if min(d, K + J - 2) <= settings.grid_up_to else "montecarlo"
    tr = gradient_descent(init, w, teacher, step_size=settings.step_size, max_steps=settings.steps,
                          record_every=max(settings.steps, 1), record_means=False, rtol=settings.rtol,
                          atol=settings.atol, rule=rule, samples=settings.samples, seed=settings.mc_seed,
                          progress=False)
    target = teacher.means[nearest(init, teacher.means)]  # (n, K, d)
    dist = np.max(np.linalg.norm(tr.final_means - target, axis=-1), axis=-1)
    ok = (dist <= settings.eps) & ~tr.diverged
    return [{"experiment": EXPERIMENT, "J": J, "K": K, "d": d, "delta": float(task.delta), "seed": int(s),
             "success": int(ok[i]), "diverged": int(tr.diverged[i]), "max_distance": float(dist[i]),
             "final_R": float(tr.values[-1, i]), "final_R_error": float(tr.value_errors[-1, i]),
             "steps": int(tr.steps[i]), "rule": tr.rule} for i, s in enumerate(task.seeds)]


def run_task(task: Task, settings: C3Settings) -> tuple[Task, list[dict], float, str]:
    """A task as a worker runs it: (task, rows, wall seconds, worker host:pid)."""
    import socket

    t0 = time.perf_counter()
    rows = c3_rows(task, settings)
    return task, rows, time.perf_counter() - t0, f"{socket.gethostname()}:{os.getpid()}"


def parse_grid(text: str) -> dict:
    """``"J=2,3 K=J d=1,2 delta=2,3.5 seeds=0:100"`` → {"J": [...], "K": [...] or "J", "d": [...], "delta": [...],
    "seeds": range}. Raises ValueError naming the bad entry."""
    grid: dict = {"K": "J"}
    for item in text.replace(";", " ").split():
        name, sep, values = item.partition("=")
        name = {"Δ": "delta", "Delta": "delta", "D": "delta"}.get(name.strip(), name.strip())
        if not sep or not values:
            raise ValueError(f"--grid: expected name=values, got {item!r}")
        try:
            if name in ("J", "d") or (name == "K" and values != "J"):
                vals = [int(v) for v in values.split(",")]
                if any(v < 1 for v in vals):
                    raise ValueError
                grid[name] = vals
            elif name == "K":
                grid[name] = "J"
            elif name == "delta":
                vals = [float(v) for v in values.split(",")]
                if not all(math.isfinite(v) and v > 0 for v in vals):
                    raise ValueError
                grid[name] = vals
            elif name == "seeds":
                a, _, b = values.partition(":")
                lo, hi = (0, int(a)) if not _ else (int(a), int(b))
                if lo < 0 or hi <= lo:
                    raise ValueError
                grid[name] = range(lo, hi)
            else:
                raise KeyError
        except KeyError:
            raise ValueError(f"--grid: unknown name {name!r} (use J, K, d, delta, seeds)") from None
        except ValueError:
            raise ValueError(f"--grid: bad values for {name}: {values!r}") from None
    missing = [n for n in ("J", "d", "delta", "seeds") if n not in grid]
    if missing:
        raise ValueError(f"--grid: missing {', '.join(missing)}")
    return grid


def make_tasks(grid: dict, chunk: int) -> list[Task]:
    """The tasks of a grid: every (J, K, d, Δ) with its seeds in chunks of ``chunk``; the costliest sizes first
    (so that the last tasks to finish are short)."""
    tasks = []
    seeds = grid["seeds"]
    for J in grid["J"]:
        for K in ([J] if grid["K"] == "J" else grid["K"]):
            for d in grid["d"]:
                for delta in grid["delta"]:
                    for a in range(seeds.start, seeds.stop, chunk):
                        tasks.append(Task(J, K, d, float(delta), a, min(a + chunk, seeds.stop)))
    tasks.sort(key=lambda t: (-(t.K + t.J) * t.d, t.J, t.K, t.d, t.delta, t.seed_start))
    return tasks


# --- running -------------------------------------------------------------------------------------------


class _Progress:
    """Tasks done, rate and time left on stderr: tqdm if installed, else a plain line."""

    def __init__(self, total: int, initial: int, enabled: bool):
        self.total, self.done, self.enabled = total, initial, enabled
        self.t0, self.start_done = time.perf_counter(), initial
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=initial, unit="task", file=sys.stderr, dynamic_ncols=True,
                                desc="sweep", smoothing=0.1)
            except ImportError:
                self.bar = None

    def update(self):
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            return
        dt = time.perf_counter() - self.t0
        rate = (self.done - self.start_done) / max(dt, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else math.inf
        print(f"\rsweep: {self.done}/{self.total} tasks, {rate:.2f} tasks/s, {left:.0f} s left   ", end="",
              file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(file=sys.stderr)


def local_cluster(workers: int | None = None):
    """The embedded default: a LocalCluster with one single-threaded worker process per core (no dashboard)."""
    import logging

    from distributed import LocalCluster

    n = workers or os.cpu_count() or 1
    return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                        silence_logs=logging.ERROR)


def pending_tasks(tasks: list[Task], st: S.Store) -> list[Task]:
    done = st.done_keys()
    return [t for t in tasks if not all(k in done for k in t.row_keys())]


def run_sweep(tasks: list[Task], settings: C3Settings, st: S.Store, client=None, *, progress: bool = False,
              on_result: Callable[[Task], None] | None = None) -> dict:
    """Run the tasks not yet in the store and write each one's rows as it completes. client: a
    ``distributed.Client`` (None: run here, serially). Returns {"ran", "skipped", "seconds", "failed"}."""
    todo = pending_tasks(tasks, st)
    bar = _Progress(len(tasks), len(tasks) - len(todo), progress)
    t0 = time.perf_counter()
    failed = []

    def keep(result):
        task, rows, seconds, worker = result
        st.write(rows, task.key(st.hash), seconds, worker)
        bar.update()
        if on_result is not None:
            on_result(task)

    try:
        if client is None:
            for t in todo:
                keep(run_task(t, settings))
        else:
            from distributed import as_completed

            futures = [client.submit(run_task, t, settings, key=t.key(st.hash), pure=False) for t in todo]
            for fut in as_completed(futures):
                try:
                    result = fut.result()
                except Exception as exc:  # a task that failed (after Dask's retries): report, keep the rest
                    failed.append((fut.key, f"{type(exc).__name__}: {exc}"))
                    bar.update()
                    continue
                finally:
                    fut.release()
                keep(result)
    finally:
        bar.close()
    return {"ran": len(todo) - len(failed), "skipped": len(tasks) - len(todo), "seconds": time.perf_counter() - t0,
            "failed": failed}


# --- analysis --------------------------------------------------------------------------------------------


def summarize(table: dict, level: float = 0.9) -> dict:
    """Per (J, K, d): Δ values, successes, runs, Wilson intervals, the rules used and Δ* with its grid
    neighbour below."""
    out = {}
    keys = sorted(set(zip(table["J"].tolist(), table["K"].tolist(), table["d"].tolist())))
    for J, K, d in keys:
        m = (table["J"] == J) & (table["K"] == K) & (table["d"] == d)
        deltas, ok = table["delta"][m], table["success"][m].astype(bool)
        grid = np.unique(deltas)
        succ = [int(ok[deltas == v].sum()) for v in grid]
        runs = [int((deltas == v).sum()) for v in grid]
        star, below = threshold(deltas, ok, level=level)
        out[(J, K, d)] = {"delta": grid.tolist(), "successes": succ, "runs": runs,
                          "interval": [wilson_interval(s, n) for s, n in zip(succ, runs)],
                          "star": star, "below": below, "rules": sorted(set(table["rule"][m].tolist())),
                          "diverged": int(table["diverged"][m].sum())}
    return out


def fits(summary: dict) -> dict:
    """Δ* = a + b√(log x) against x = J (per d, K = J) and x = d (per J), where ≥ 2 Δ* are known (and for
    x = J at least two distinct J): {("J", d) or ("d", J): (xs, Δ*s, a, b, max |residual|, residuals)}."""
    out = {}
    pts = {(J, d): s["star"] for (J, K, d), s in summary.items() if K == J and s["star"] is not None}
    for axis in ("J", "d"):
        others = sorted({(d if axis == "J" else J) for J, d in pts})
        for o in others:
            xs = sorted(x for x in {(J if axis == "J" else d) for J, d in pts if (d if axis == "J" else J) == o})
            if len(xs) < 2:
                continue
            ys = [pts[(x, o) if axis == "J" else (o, x)] for x in xs]
            a, b, resid = sqrt_log_fit(xs, ys)
            r = np.asarray(ys) - (a + b * np.sqrt(np.log(np.asarray(xs, dtype=float))))
            out[(axis, o)] = (xs, ys, a, b, resid, r.tolist())
    return out


def describe(summary: dict, settings: dict, level: float) -> list[str]:
    lines = []
    for (J, K, d), s in summary.items():
        lines.append(f"J = K = {J}, d = {d}:" if K == J else f"J = {J}, K = {K}, d = {d}:")
        for v, k, n, (lo, hi) in zip(s["delta"], s["successes"], s["runs"], s["interval"]):
            lines.append(f"  Δ = {v:<5g} success {k}/{n} = {k / n:.3f}  95% [{lo:.3f}, {hi:.3f}]")
        lines.append(f"  smallest Δ with lower bound > {level:g}: {s['star']}"
                     + (f" (grid neighbour below: {s['below']})" if s["below"] is not None else ""))
        if "montecarlo" in s["rules"]:
            lines.append(f"  gradients by Monte Carlo: stochastic (a fixed common sample of {settings.get('samples')} "
                         f"antithetic pairs, seed {settings.get('mc_seed')}; errors are 3 standard errors)")
    for (axis, o), (xs, _ys, a, b, resid, _) in fits(summary).items():
        where = f"d = {o}" if axis == "J" else f"J = K = {o}"
        lines.append(f"fit Δ*({axis}) = {a:.3f} + {b:.3f}·√(log {axis}), {where}, {axis} = {xs}: max residual {resid:.3f}")
    return lines


def plot(table: dict, path, level: float = 0.9, title: str = "") -> None:
    """Success fraction against Δ with 95% Wilson intervals and Δ* marked (one panel per d, one line per
    (J, K)); Δ* against √log J and √log d with the fits a + b√(log x) and their residuals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize(table, level)
    ds = sorted({d for _, _, d in summary})
    fit = fits(summary)
    ncol = max(len(ds), 2)
    fig, axes = plt.subplots(3, ncol, figsize=(3.3 * ncol, 9.5), constrained_layout=True, squeeze=False)
    colors = {}
    for col, d in enumerate(ds):
        ax = axes[0, col]
        for (J, K, dd), s in summary.items():
            if dd != d:
                continue
            f = np.array(s["successes"]) / np.array(s["runs"])
            lo, hi = np.array(s["interval"]).T
            line = ax.errorbar(s["delta"], f, yerr=[np.maximum(f - lo, 0), np.maximum(hi - f, 0)], marker="o", ms=3,
                               capsize=2, label=f"J={J}" + ("" if K == J else f" K={K}") + f" (Δ*={s['star']})")
            colors[(J, K)] = line[0].get_color()
            if s["star"] is not None:
                ax.axvline(s["star"], color=line[0].get_color(), ls="--", lw=0.8)
        ax.axhline(level, color="gray", ls=":", lw=1)
        mc = any("montecarlo" in s["rules"] for (_, _, dd), s in summary.items() if dd == d)
        ax.set_title(f"d = {d}" + (" (Monte Carlo gradients)" if mc else ""), fontsize=9)
        ax.set_xlabel("Δ")
        ax.set_ylim(-0.03, 1.03)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    axes[0, 0].set_ylabel("success fraction (95% Wilson)")
    for extra in range(len(ds), ncol):
        axes[0, extra].axis("off")
    for col, axis in enumerate(("J", "d")):
        ax, ar = axes[1, col], axes[2, col]
        for (ax_name, o), (xs, ys, a, b, _resid, r) in fit.items():
            if ax_name != axis:
                continue
            x = np.sqrt(np.log(np.asarray(xs, dtype=float)))
            label = f"d={o}" if axis == "J" else f"J=K={o}"
            below = [summary[(x_, x_, o) if axis == "J" else (o, o, x_)]["below"] for x_ in xs]
            low = np.array([y - (bl if bl is not None else y) for y, bl in zip(ys, below)])
            pts = ax.errorbar(x, ys, yerr=[low, np.zeros_like(low)], fmt="o", ms=4, capsize=2,
                              label=f"{label}: {a:.2f}+{b:.2f}√log {axis}")[0]
            xx = np.linspace(0, x.max(), 20)
            ax.plot(xx, a + b * xx, "-", lw=0.8, color=pts.get_color())
            ar.plot(x, r, "o-", ms=3, lw=0.6, color=pts.get_color(), label=label)
        for (J, K, d), sm in summary.items():  # no Δ* on the grid: Δ* > the largest Δ (not in the fits)
            if sm["star"] is None and K == J:
                x = math.sqrt(math.log(J if axis == "J" else d))
                ax.plot([x], [max(sm["delta"])], "^", mfc="none", color="gray", ms=6)
        ax.set_xlabel(f"√(log {axis})")
        ax.set_ylabel("Δ* (bar: down to the grid neighbour; △: Δ* > largest Δ)", fontsize=7)
        ax.set_title(f"Δ* against {axis}", fontsize=9)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
        ar.axhline(0, color="gray", lw=0.6)
        ar.set_xlabel(f"√(log {axis})")
        ar.set_ylabel("residual Δ* − fit")
        if ar.get_legend_handles_labels()[0]:
            ar.legend(fontsize=6)
    for col in range(2, ncol):
        axes[1, col].axis("off")
        axes[2, col].axis("off")
    fig.suptitle(title or f"C3: success against Δ, Δ* (Wilson lower bound > {level:g}) and √log fits", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def map_tasks(fn: Callable, items: Iterable, *, scheduler: str | None = None, workers: int | None = None) -> list:
    """``[fn(x) for x in items]`` as independent Dask tasks (an embedded LocalCluster, or the cluster at
    ``scheduler``), results in the order of ``items``. For the report's experiments (C1/C3): fn must be a
    module-level function whose result depends on its argument only."""
    from distributed import Client

    items = list(items)
    cluster = None if scheduler else local_cluster(workers)
    with Client(scheduler or cluster) as client:
        try:
            return client.gather(client.map(fn, items, pure=False))
        finally:
            if cluster is not None:
                cluster.close()


# --- the command line ------------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``rfisher sweep``."""
    p.add_argument("--grid", help='the sweep grid, e.g. "J=2,3,5 K=J d=1,2,3 delta=2,3,3.5,4,5 seeds=100" '
                                  "(seeds=N: 0..N−1; seeds=A:B: A..B−1). Overrides --J, --d, --separations, --seeds")
    p.add_argument("--J", type=positive_int, nargs="+", default=[2, 3, 5], help="teacher components (K = J)")
    p.add_argument("--d", type=positive_int, nargs="+", default=[1], help="dimensions")
    p.add_argument("--separations", type=positive_float, nargs="+", default=[1, 2, 2.5, 3, 3.25, 3.5, 3.75, 4, 5, 6])
    p.add_argument("--seeds", type=positive_int, default=200, help="seeds 0..N−1 per grid point")
    p.add_argument("--steps", type=positive_int, default=C3Settings.steps)
    p.add_argument("--step-size", type=positive_float, default=C3Settings.step_size)
    p.add_argument("--eps", type=positive_float, default=C3Settings.eps, help="success tolerance ε")
    p.add_argument("--rtol", type=V.cli_rtol, default=C3Settings.rtol)
    p.add_argument("--scheme", choices=["teacher", "box"], default="teacher")
    p.add_argument("--layout", choices=["random", "line", "simplex"], default="random")
    p.add_argument("--rule", choices=["auto", "grid", "montecarlo"], default="auto",
                   help="integration rule (auto: see --grid-up-to)")
    p.add_argument("--grid-up-to", type=positive_int, default=C3Settings.grid_up_to,
                   help="with --rule auto: quadrature up to this reduced dimension min(d, K+J−2), Monte Carlo above")
    p.add_argument("--samples", type=positive_int, default=C3Settings.samples,
                   help="Monte Carlo antithetic pairs (common to every trajectory and step)")
    p.add_argument("--level", type=level_float, default=0.9, help="Δ* = smallest Δ with Wilson lower bound > level")
    p.add_argument("--chunk", type=positive_int, default=20, help="seeds per task")
    p.add_argument("--store", help="results store (SQLite file); default OUT/sweep.sqlite with --out, else temporary")
    p.add_argument("--resume", action="store_true", help="continue a store: skip the keys already in it")
    p.add_argument("--out", type=V.cli_writable_dir, help="folder for the table (CSV, Parquet) and the figure")
    p.add_argument("--plot", metavar="STORE", help="redraw table and figure from a store without computing")
    p.add_argument("--scheduler", metavar="ADDRESS", help="use the Dask cluster at ADDRESS (default: a local one)")
    p.add_argument("--workers", type=positive_int, help="workers of the local cluster (default: the cores)")
    p.add_argument("--serial", action="store_true", help="run in this process, without Dask")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def settings_from(args) -> C3Settings:
    return C3Settings(steps=args.steps, step_size=args.step_size, eps=args.eps, rtol=args.rtol, scheme=args.scheme,
                      layout=args.layout, rule=args.rule, grid_up_to=args.grid_up_to, samples=args.samples)


def _fail(message: str) -> int:
    print(f"rfisher sweep: {message}", file=sys.stderr)
    return 2


def write_summary(summary: dict, path) -> None:
    """One CSV line per grid point: J, K, d, Δ, successes, runs, fraction, the 95% Wilson interval, the rule,
    and Δ* of the (J, K, d) with its grid neighbour below ("" when Δ* is above the grid)."""
    with open(path, "w") as fh:
        fh.write("J,K,d,delta,successes,runs,fraction,wilson_low,wilson_high,rule,delta_star,delta_star_below\n")
        for (J, K, d), s in summary.items():
            for v, k, n, (lo, hi) in zip(s["delta"], s["successes"], s["runs"], s["interval"]):
                star = "" if s["star"] is None else repr(s["star"])
                below = "" if s["below"] is None else repr(s["below"])
                fh.write(f"{J},{K},{d},{v!r},{k},{n},{k / n!r},{lo!r},{hi!r},{'+'.join(s['rules'])},{star},{below}\n")


def _write_outputs(st: S.Store, out: Path | None, level: float) -> None:
    table = st.table()
    summary = summarize(table, level)
    for line in describe(summary, st.settings, level):
        print(line)
    if out is not None:
        paths = S.export(table, out, st.settings, stem="c3_sweep")
        write_summary(summary, out / "c3_sweep_summary.csv")
        plot(table, out / "c3_sweep.png", level)
        print("wrote " + ", ".join(str(p) for p in [*paths, out / "c3_sweep_summary.csv", out / "c3_sweep.png"]))


def main(args) -> int:
    """``rfisher sweep``: 0 on success, 1 if tasks failed, 2 on bad input or a store of other settings."""
    out = Path(args.out) if args.out else None
    if args.plot:
        try:
            st = S.Store.read(args.plot)
        except S.StoreError as exc:
            return _fail(str(exc))
        with st:
            if st.count() == 0:
                return _fail(f"store {args.plot!r} holds no results")
            _write_outputs(st, out, args.level)
        return 0
    try:
        grid = parse_grid(args.grid) if args.grid else {"J": args.J, "K": "J", "d": args.d, "delta": args.separations,
                                                         "seeds": range(args.seeds)}
    except ValueError as exc:
        return _fail(str(exc))
    settings = settings_from(args)
    tmp = None
    if args.store:
        store_path = Path(args.store)
    elif out is not None:
        store_path = out / "sweep.sqlite"
    else:
        tmp = tempfile.TemporaryDirectory(prefix="rfisher-sweep-")
        store_path = Path(tmp.name) / "sweep.sqlite"
        print("(results kept in a temporary store: give --store or --out to keep them)", file=sys.stderr)
    try:
        try:
            st = S.Store.open(store_path, settings.as_json())
        except S.StoreError as exc:
            return _fail(str(exc))
        with st:
            if st.count() and not args.resume:
                return _fail(f"store {str(store_path)!r} already holds {st.count()} results: pass --resume to continue "
                             "it, or give a new store path")
            tasks = make_tasks(grid, args.chunk)
            client = cluster = None
            if not args.serial and pending_tasks(tasks, st):
                try:
                    from distributed import Client
                except ImportError:
                    return _fail("dask.distributed is not installed (pip install 'dask[distributed]'), or pass --serial")
                try:
                    cluster = None if args.scheduler else local_cluster(args.workers)
                    client = Client(args.scheduler or cluster, timeout="10s")
                except (OSError, ValueError) as exc:
                    return _fail(f"cannot reach the Dask scheduler {args.scheduler!r}: {exc}".splitlines()[0])
            try:
                info = run_sweep(tasks, settings, st, client, progress=not args.no_progress)
            finally:
                if client is not None:
                    client.close()
                if cluster is not None:
                    cluster.close()
            n_workers = args.workers or os.cpu_count()
            where = "serially" if client is None else (f"on the cluster at {args.scheduler}" if args.scheduler
                                                       else f"on a local cluster of {n_workers} workers")
            print(f"{info['ran']} tasks run {where} in {info['seconds']:.1f} s, {info['skipped']} already in the store "
                  f"({store_path})", file=sys.stderr)
            for key, err in info["failed"]:
                print(f"task {key} failed: {err}", file=sys.stderr)
            _write_outputs(st, out, args.level)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 1 if info["failed"] else 0
