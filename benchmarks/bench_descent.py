"""Throughput of the batched GD runner: trajectory-steps per second, and peak memory.

    python benchmarks/bench_descent.py [--quick]

For (K, d) ∈ {(2, 1), (3, 1), (3, 2), (4, 3)} and batch sizes 1, 100, 10 000: reverse GD
(η = 0.3) from random starts in the ball of radius 3 around μ* (single-Gaussian teacher),
gradient relative accuracy 1e−12 (d ≤ 2) or 1e−10 (d = 3), no monitors. Steps per run are
chosen to keep each measurement to seconds; the first (compiling) run is discarded, and a measurement
under REPEAT_BELOW seconds is repeated (best of REPEATS): a 10 ms run on a shared machine is mostly noise.
Only the public API is used, so ``PYTHONPATH=<another checkout> python benchmarks/bench_descent.py`` times
that checkout with this script (before and after in one run).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from rfisher import GaussianMixture
from rfisher.descent import gradient_descent, random_initializations

CASES = [((2, 1), 1e-12, {1: 2000, 100: 200, 10_000: 20}),
         ((3, 1), 1e-12, {1: 2000, 100: 200, 10_000: 20}),
         ((3, 2), 1e-10, {1: 200, 100: 20, 10_000: 2}),
         ((4, 3), 1e-10, {1: 20, 100: 2, 10_000: 1})]
REPEATS, REPEAT_BELOW = 30, 1.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="batch sizes 1 and 100 only")
    args = parser.parse_args()
    print(f"# rfisher GD runner benchmark — {os.cpu_count()} cores; kernels are single-threaded")
    print(f"{'K':>2} {'d':>2} {'rtol':>6} {'batch':>6} {'steps':>6} {'traj-steps/s':>13} {'seconds':>8} {'peak RSS MB':>12}")
    for (K, d), rtol, plan in CASES:
        teacher = GaussianMixture.single(np.zeros(d))
        w = np.linspace(1, 2, K) / np.linspace(1, 2, K).sum()
        for B, steps in plan.items():
            if args.quick and B > 100:
                continue
            init = random_initializations(0, B, K, d, 3.0)
            gradient_descent(init[: min(B, 4)], w, teacher, step_size=0.3, max_steps=1, rtol=rtol, record_means=False)
            dt = np.inf
            for _ in range(REPEATS):
                t = time.perf_counter()
                tr = gradient_descent(init, w, teacher, step_size=0.3, max_steps=steps, rtol=rtol,
                                      record_every=max(1, steps), record_means=False)
                dt = min(dt, time.perf_counter() - t)
                if dt >= REPEAT_BELOW:
                    break
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{K:>2} {d:>2} {rtol:>6.0e} {B:>6} {steps:>6} {tr.trajectory_steps() / dt:>13.0f} {dt:>8.2f} {rss:>12.0f}")


if __name__ == "__main__":
    main()
