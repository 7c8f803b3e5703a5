"""Mixture teachers in d = 2–3: trajectory-steps per second at batch 100, one core (issue 13's table).

    python benchmarks/bench_mixture.py [--baseline PATH] [--steps N] [--cases NAMES]

Each case runs reverse GD (η = 0.3) from ``random_initializations`` (seed 0) for a batch of 100
trajectories; the first call (compiling, and on the first step the quadrature plan) is discarded,
then ``steps`` steps are timed. Every measurement runs in its own fresh process with one thread.
With ``--baseline PATH`` each case is measured on that source tree too, in the same run, one after
the other (before = PATH, after = this tree).

Cases (error ≤ rtol·scale + atol on every gradient, atol = 1e−12):
- "J3K3d2":  J = K = 3, d = 2, teacher means 6 apart on a triangle, starts within radius 6, rtol 1e−10;
- "K4J1d3":  K = 4, J = 1, d = 3, single Gaussian teacher, starts within radius 6, rtol 1e−8;
- "J3K3d3":  J = K = 3, d = 3, teacher means 6 apart (triangle in a plane), radius 6, rtol 1e−8;
- "K4J1d3-10k": batch 10 000 of K4J1d3, one step (does it complete, and its peak memory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    "J3K3d2": dict(J=3, K=3, d=2, rtol=1e-10, batch=100),
    "K4J1d3": dict(J=1, K=4, d=3, rtol=1e-8, batch=100),
    "J3K3d3": dict(J=3, K=3, d=3, rtol=1e-8, batch=100),
    "K4J1d3-10k": dict(J=1, K=4, d=3, rtol=1e-8, batch=10_000),
}

WORKER = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    from rfisher import GaussianMixture
    from rfisher.descent import gradient_descent, random_initializations
    c = json.loads(sys.argv[1])
    J, K, d = c["J"], c["K"], c["d"]
    corners = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 3.0 * 3 ** 0.5]])[:J]
    nu = np.zeros((J, d)); nu[:, :min(d, 2)] = corners[:, :min(d, 2)]
    nu -= nu.mean(axis=0)
    teacher = GaussianMixture(nu, np.full(J, 1.0 / J))
    w = np.linspace(1, 2, K) / np.linspace(1, 2, K).sum()
    init = random_initializations(0, c["batch"], K, d, 6.0)
    kw = dict(step_size=0.3, rtol=c["rtol"], atol=1e-12, record_means=False, progress=False)
    gradient_descent(init[:2], w, teacher, max_steps=1, **kw)  # compile and warm up
    t = time.perf_counter()
    tr = gradient_descent(init, w, teacher, max_steps=c["steps"], **kw)
    dt = time.perf_counter() - t
    steps = int(np.sum(tr.steps)) if hasattr(tr, "steps") else c["batch"] * c["steps"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "traj_steps": steps, "rate": steps / dt, "rss_mb": rss}))
""")


def measure(tree: str, case: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=tree, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # cwd = the tree: ``python -c`` puts the working directory first on sys.path, ahead of PYTHONPATH, so run
    # from another checkout it would time that checkout's rfisher for both trees
    out = subprocess.run([sys.executable, "-c", WORKER, json.dumps(case)], env=env, cwd=tree, capture_output=True,
                         text=True, timeout=3600)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="a source tree to measure first (before)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per case (default 5)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    args = parser.parse_args()
    trees = ([("before", args.baseline)] if args.baseline else []) + [("after", HERE)]
    print(f"# issue 13 table: one thread per process, batch as stated, {args.steps} timed steps")
    print(f"{'case':<12} {'tree':<7} {'traj-steps/s':>13} {'seconds':>8} {'peak RSS MB':>12}")
    for name in args.cases.split(","):
        case = dict(CASES[name], steps=1 if name.endswith("10k") else args.steps)
        for label, tree in trees:
            r = measure(tree, case)
            if "error" in r:
                print(f"{name:<12} {label:<7} failed: {r['error']}")
            else:
                print(f"{name:<12} {label:<7} {r['rate']:>13.1f} {r['seconds']:>8.2f} {r['rss_mb']:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
