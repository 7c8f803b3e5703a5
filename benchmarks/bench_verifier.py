"""Time of the verifier's certified regions (rfisher.verifier, issue 12 item 3).

    python benchmarks/bench_verifier.py [--quick] [--reach] [--workers N]

The report's quick region and the issue's target region (M = 10, ε = 0.1, w ∈ [0.05, 0.95]): boxes, integrand
evaluations, time, smallest certified lower bound of ⟨θ − θ*, ∇R⟩, η_max (certified lower bound). ``--quick``
times the quick region only; ``--reach`` adds the regions beyond the target (larger M, smaller ε, smaller
weights) and the refuted candidate V_w (α = 1), which must come out NOT certified.
"""

from __future__ import annotations

import argparse

from rfisher import verifier

REACH = [  # (M, eps, w_min, alpha)
    (100.0, 0.1, 0.05, 0.0),
    (1000.0, 0.1, 0.05, 0.0),
    (10.0, 0.001, 0.05, 0.0),
    (10.0, 1e-6, 0.05, 0.0),
    (10.0, 0.1, 0.01, 0.0),
    (10.0, 0.1, 1e-4, 0.0),
    (30.0, 0.01, 0.01, 0.0),
    (10.0, 0.1, 0.05, 1.0),
]


def row(name: str, region: verifier.Region) -> str:
    d = region.details()
    eta = "—" if d["eta_max"] is None else f"{d['eta_max']:.4g}"
    verdict = "certified" if region.complete else "NOT certified"
    return (f"{name:<44} {d['count']:>6} {d['uncovered_count']:>9} {d['evaluations']:>9} {d['seconds']:>8.1f} "
            f"{d['min_lower_bound']:>11.3g} {eta:>8} {verdict}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the quick region only")
    parser.add_argument("--reach", action="store_true", help="also the regions beyond the target")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(f"{'region (M, ε, w_min, α)':<44} {'boxes':>6} {'uncovered':>9} {'evals':>9} {'seconds':>8} "
          f"{'min bound':>11} {'η_max':>8} verdict")
    regions = [("quick", verifier.QUICK_REGION + (0.0,))]
    if not args.quick:
        regions.append(("target", verifier.FULL_REGION + (0.0,)))
        if args.reach:
            regions += [("reach", r) for r in REACH]
    for name, (M, eps, w_min, alpha) in regions:
        region = verifier.verify(M, eps, w_min, alpha, workers=args.workers)
        print(row(f"{name} ({M:g}, {eps:g}, {w_min:g}, {alpha:g})", region), flush=True)


if __name__ == "__main__":
    main()
