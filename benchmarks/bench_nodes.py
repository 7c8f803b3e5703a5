"""Cost of the quadrature per evaluation and per node, on fixed parameter sets (no GD around it).

    NUMBA_NUM_THREADS=1 python benchmarks/bench_nodes.py

Reverse objective, ``integrate`` on a batch of random starts (``random_initializations``, seed 0;
radius 3 for a single-Gaussian teacher, 6 for the mixture teacher of benchmarks/bench_mixture.py),
best of a few repeats after a warm-up. Prints µs per evaluation, nodes per evaluation (last pass), ns
per node, and the sum of the values (a checksum: same tree and inputs give the same digits).
"""

from __future__ import annotations

import time

import numpy as np

from rfisher.descent import random_initializations
from rfisher.quadrature import integrate

CASES = [(2, 1, 1, 1e-12, 2000, 5), (3, 1, 1, 1e-12, 2000, 5), (3, 1, 2, 1e-10, 200, 3), (3, 3, 2, 1e-10, 20, 3),
         (4, 1, 3, 1e-8, 5, 2)]


def case(K, J, d, rtol, B, reps):
    init = random_initializations(0, B, K, d, 3.0 if J == 1 else 6.0)
    w = np.linspace(1, 2, K) / np.linspace(1, 2, K).sum()
    if J == 1:
        nu, pi = np.zeros((1, d)), None
    else:
        corners = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 3.0 * 3**0.5]])[:J]
        nu = np.zeros((J, d))
        nu[:, :min(d, 2)] = corners[:, :min(d, 2)]
        nu -= nu.mean(axis=0)
        pi = np.full(J, 1 / J)
    integrate("reverse", init[:2], w, nu, pi, rtol=rtol)
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        res = integrate("reverse", init, w, nu, pi, rtol=rtol)
        best = min(best, time.perf_counter() - t)
    nodes = res.nodes.sum()
    print(f"K={K} J={J} d={d} rtol={rtol:g} batch={B}: {best / B * 1e6:10.2f} µs/eval {nodes / B:9.0f} nodes/eval "
          f"{best / nodes * 1e9:6.1f} ns/node  checksum {res.value.sum():.17g}")


if __name__ == "__main__":
    for c in CASES:
        case(*c)
