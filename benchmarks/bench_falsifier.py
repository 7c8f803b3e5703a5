"""The falsifier's power and time (rfisher.falsifier), one core, warm numba caches.

    python benchmarks/bench_falsifier.py [--seeds N] [--budgets B1,B2] [--family PNG] [--floors]

1. Power: for V_w, V_max, V_bar and R + 1·V_w, from a cold start (no hypothesis database), each
   budget and seeds 0..N−1: whether a confirmed or certified flow violation was found, and the time.
2. Negative control: U with −∇R in place of ∇R in the search: a float violation that must come
   out "not confirmed".
3. The time of one candidate at the default budget: U (the lead candidate, flow condition), the
   time the family scan spends per member.
4. ``--family PNG``: the V_α family scan on α = 0, 0.1, …, 1 at the default budget, its table and
   figure. ``--floors``: U's worst normalised derivative for weight floors 0.1 down to 0.001.

The first call of each size (K, d) in a process loads its compiled kernels; a warm-up run on every
size is done first and not timed. Timings on a shared machine are noisy: repeat at quiet moments.
"""

from __future__ import annotations

import argparse
import time
import warnings

from rfisher import falsifier as F

CANDIDATES = ["V_w", "V_max", "V_bar", F.ObjectivePlus(1.0, "V_w")]


def _name(c):
    return c if isinstance(c, str) else c.name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N−1 per candidate and budget (default 3)")
    parser.add_argument("--budgets", default=f"600,{F.DEFAULT_BUDGET}", help="comma-separated hypothesis budgets")
    parser.add_argument("--family", default=None, help="run the V_α family scan and write its figure here")
    parser.add_argument("--floors", action="store_true", help="U against the weight floor")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be ≥ 1")
    budgets = [int(b) for b in args.budgets.split(",")]
    warnings.simplefilter("ignore", RuntimeWarning)

    F.falsify("V_w", 30, confirm_violations=False)  # warm-up: loads the kernels of every size
    print(f"{'candidate':<14} {'budget':>6} {'seed':>4} {'seconds':>8} {'points':>7}  result")
    for cand in CANDIDATES:
        for budget in budgets:
            found = 0
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                r = F.falsify(cand, budget, seed=seed)
                dt = time.perf_counter() - t0
                f = r.flow
                found += r.refuted
                point = f.confirmed_point if f.refuted else f.worst
                print(f"{_name(cand):<14} {budget:>6} {seed:>4} {dt:>8.1f} {r.n_evaluations:>7}  {f.status}, "
                      f"c = {f.worst_evaluation.normalised:.3g}, at {point}", flush=True)
            print(f"{_name(cand):<14} {budget:>6}  power: {found}/{args.seeds} seeds found a confirmed violation")

    def flipped(means, weights):
        R, R_err, g, g_err, nodes = F.reverse_gradient(means, weights)
        return R, R_err, -g, g_err, nodes

    t0 = time.perf_counter()
    r = F.falsify("U", 600, objective_gradient=flipped)
    print(f"\nnegative control (U, −∇R in the search, 600 examples): {time.perf_counter() - t0:.1f} s, float c = "
          f"{r.flow.worst_evaluation.normalised:.3g}, {r.flow.status}; refuted = {r.refuted}")

    t0 = time.perf_counter()
    r = F.falsify("U")
    dt = time.perf_counter() - t0
    print(f"\none candidate at the default budget ({F.DEFAULT_BUDGET} examples): U, flow condition: {dt:.1f} s, "
          f"{r.n_evaluations} points; worst c = {r.flow.worst_evaluation.normalised:.3g} ({r.flow.status})")

    sweep = {}
    if args.floors:
        print("\nU against the weight floor (default budget, flow condition):")
        floors = (0.1, 0.03, 0.01, 0.003, 0.001)
        worst = []
        for floor in floors:
            t0 = time.perf_counter()
            f = F.falsify("U", w_floor=floor).flow
            worst.append(f.worst_evaluation.normalised)
            print(f"  w_floor = {floor:<6} worst c = {worst[-1]:.3g} ({f.status}) at {f.worst}, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
        sweep["U: worst c, w_floor = w"] = (floors, worst)

    if args.family:
        t0 = time.perf_counter()
        scan = F.family_scan()
        scan.plot(args.family, floor_sweep=sweep)
        dt = time.perf_counter() - t0
        print(f"\nV_α family scan, {len(scan.parameters)} members: {dt:.0f} s ({dt / len(scan.parameters):.1f} s per member)")
        print(scan.table())
        print("no violation found for α ∈", scan.without_violation, "; confirmed violations for α ∈", scan.refuted)


if __name__ == "__main__":
    main()
