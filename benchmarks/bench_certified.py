"""Time per certified evaluation (rfisher.certified) at 53, 128 and 256 bits.

    python benchmarks/bench_certified.py [--quick]

For each case, R and ∇R enclosed in ball arithmetic (d = 1): wall time, number of integrals
(⌈(1 + K)/2⌉ per component: two real outputs per complex integral) and the largest radius. Then the
time of one certified GD step (∇R only, ΔV_w) at 53 bits. ``--quick`` skips 256 bits.
"""

from __future__ import annotations

import argparse
import time

from rfisher import GaussianMixture, certified

CASES = [
    ("K=2 (3, −1)", GaussianMixture([[3.0], [-1.0]], [0.5, 0.5]), GaussianMixture.single([0.0])),
    ("K=2 overlapping (1e−3, 0)", GaussianMixture([[1e-3], [0.0]], [0.3, 0.7]), GaussianMixture.single([0.4])),
    ("K=2 far (40, −1)", GaussianMixture([[40.0], [-1.0]], [0.01, 0.99]), GaussianMixture.single([0.0])),
    ("K=2 (1e4, 0)", GaussianMixture([[1e4], [0.0]], [0.5, 0.5]), GaussianMixture.single([0.0])),
    ("K=3, J=2", GaussianMixture([[2.0], [-1.0], [7.5]], [0.2, 0.3, 0.5]), GaussianMixture([[0.0], [6.0]], [0.5, 0.5])),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="53 and 128 bits only")
    args = parser.parse_args()
    precs = (53, 128) if args.quick else (53, 128, 256)
    certified.reverse_fisher(*CASES[0][1:], prec=53)  # builds the integrand once
    print(f"{'case':<28} {'bits':>5} {'integrals':>9} {'seconds':>8} {'s/integral':>10} {'radius':>9}")
    for name, s, t in CASES:
        n_int = s.K * ((2 + s.K) // 2)
        for prec in precs:
            t0 = time.perf_counter()
            enc = certified.reverse_fisher(s, t, prec=prec)
            dt = time.perf_counter() - t0
            print(f"{name:<28} {prec:>5} {n_int:>9} {dt:>8.2f} {dt / n_int:>10.3f} {enc.radius():>9.1e}")
    t0 = time.perf_counter()
    tr = certified.certified_trajectory([3.0, -1.0], [0.5, 0.5], 0.0, 0.3, 20, prec=53)
    dt = time.perf_counter() - t0
    print(f"\ncertified GD step (K = 2, ∇R and ΔV_w at 53 bits): {dt / 20:.3f} s/step "
          f"({tr.certified_steps}/20 certified)")


if __name__ == "__main__":
    main()
