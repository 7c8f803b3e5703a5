"""Wall time and trajectory-steps per second of one C3 sweep point: J = 3, K = 6, d = 2, 1000 seeds.

    python benchmarks/bench_c3.py [--seeds N] [--steps T]

Reverse GD (η = 0.3) from initializations drawn from p, a 'random' teacher layout with Δ = 8,
gradients to 1e−6·scale + 1e−10 (as the C3 claim uses). Prints the success fraction with its
Wilson interval too, so the timing is of a run that did its job.
"""

from __future__ import annotations

import argparse
import os
import time

from rfisher import mixture_teacher as MT


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    MT.c3_experiment(3, 6, 2, 8.0, n=2, steps=2, forward=False, with_tv=False)  # compile
    t = time.perf_counter()
    r = MT.c3_experiment(3, 6, 2, 8.0, n=args.seeds, steps=args.steps, forward=False, with_tv=False)
    dt = time.perf_counter() - t
    print(f"# C3 sweep point J=3 K=6 d=2 Δ=8, {args.seeds} seeds × {args.steps} steps, {os.cpu_count()} cores")
    print(f"wall time {dt:.1f} s, {args.seeds * args.steps / dt:.0f} trajectory-steps/s (upper bound: runs may stop early)")
    print(f"success {r.successes}/{r.n} = {r.fraction:.3f}, 95% Wilson [{r.interval[0]:.3f}, {r.interval[1]:.3f}]")


if __name__ == "__main__":
    main()
