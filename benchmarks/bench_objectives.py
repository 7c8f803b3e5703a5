"""Accuracy per cost of R, ∇R (and F) evaluation, and batched throughput.

    python benchmarks/bench_objectives.py            # full
    python benchmarks/bench_objectives.py --quick    # fewer repetitions

Prints, for d = 1 and d = 2:
  1. per quadrature setting: the error against the 40-digit mpmath reference (relative, value and
     norm-wise gradient), the error the rule reports, nodes, and time per evaluation;
  2. throughput of batched evaluation (parameter sets per second) at batch sizes 1, 100, 10 000
     on random configurations, single-threaded (numba kernels run on one core).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from rfisher import GaussianMixture, montecarlo, reference
from rfisher import quadrature as Q

CASES = {
    "d=1 K=2 mu=(3,-1)": (GaussianMixture([[3.0], [-1.0]]), GaussianMixture.single([0.0])),
    "d=1 K=3 moderate": (GaussianMixture([[4.0], [0.5], [-3.0]], [0.2, 0.3, 0.5]), GaussianMixture.single([0.2])),
    "d=2 K=3 moderate": (GaussianMixture([[3.0, 1.0], [-1.0, 0.5], [0.5, -2.0]], [0.01, 0.39, 0.6]),
                         GaussianMixture.single([0.3, -0.2])),
}


def _time(fn, repeat):
    fn()  # compile / warm up
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def accuracy(repeat):
    print("\n## accuracy per cost (reverse objective), against the mpmath reference")
    print(f"{'case':<20} {'rule':<18} {'rel err R':>10} {'rel err ∇R':>11} {'reported':>9} {'nodes':>8} {'time':>10}")
    for name, (s, t) in CASES.items():
        ref = reference.reverse_fisher(s, t)
        rv, rg = ref.as_floats()
        args = (s.means[None], s.weights, t.means, t.weights)
        for rtol in (1e-6, 1e-9, 1e-12):
            res = Q.integrate("reverse", *args, rtol=rtol)
            dt = _time(lambda rtol=rtol: Q.integrate("reverse", *args, rtol=rtol), repeat)
            ev = abs(res.value[0, 0] - rv) / rv
            eg = np.abs(res.value[0, 1:] - rg.ravel()).max() / np.abs(rg).max()
            rep = res.error[0].max() / max(rv, np.abs(rg).max())
            print(f"{name:<20} {'grid rtol=' + format(rtol, '.0e'):<18} {ev:>10.1e} {eg:>11.1e} {rep:>9.1e} "
                  f"{res.nodes[0]:>8d} {dt * 1e3:>8.3f}ms")
        for n in (2**12, 2**16):
            res = montecarlo.integrate("reverse", *args, samples=n, seed=0)
            dt = _time(lambda n=n: montecarlo.integrate("reverse", *args, samples=n, seed=0), max(1, repeat // 5))
            ev = abs(res.value[0, 0] - rv) / rv
            eg = np.abs(res.value[0, 1:] - rg.ravel()).max() / np.abs(rg).max()
            rep = 3 * res.stderr[0].max() / max(rv, np.abs(rg).max())
            print(f"{name:<20} {'MC n=' + str(n):<18} {ev:>10.1e} {eg:>11.1e} {rep:>9.1e} {res.nodes:>8d} {dt * 1e3:>8.3f}ms")


def throughput(repeat):
    print("\n## batched throughput: parameter sets per second (R and ∇R, rtol=1e-12, random configurations)")
    rng = np.random.default_rng(0)
    print(f"{'size':<14} {'batch':>6} {'sets/s':>12} {'mean nodes':>11} {'converged':>10}")
    for K, d in ((2, 1), (3, 1), (3, 2)):
        for B in (1, 100, 10_000):
            if d == 2 and B == 10_000:
                B = 1000  # the 2D grid costs ~1e5 nodes per set: keep the run short
            mu = rng.normal(size=(B, K, d)) * 2.0
            w = rng.dirichlet(np.ones(K) * 2)
            nu = np.zeros((1, d))
            res = Q.integrate("reverse", mu, w, nu)
            reps = repeat if B < 1000 else 1
            n_calls = max(1, 200 // B) if B < 100 else 1
            dt = _time(lambda: [Q.integrate("reverse", mu, w, nu) for _ in range(n_calls)], reps) / n_calls
            print(f"K={K} d={d:<8} {B:>6d} {B / dt:>12.0f} {res.nodes.mean():>11.0f} {res.converged.mean():>10.3f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeat = 2 if args.quick else 5
    print(f"# rfisher objective benchmark — {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, numba threads: 1 (kernels are serial)")
    accuracy(repeat)
    throughput(repeat)


if __name__ == "__main__":
    main()
