"""Claims C1 and C2: a single-Gaussian teacher (docs/theory.md, "Claims", C1 and C2).

Every constant below is fixed in docs/theory.md with its reason; nothing is read off the data.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from rfisher import GaussianMixture
from rfisher.claims.registry import FAIL, PASS, Settings, claim
from rfisher.descent import gradient_descent, random_initializations
from rfisher.statistics import median_interval, rate_exponent, wilson_interval
from rfisher.tv import total_variation

# --- C1 ------------------------------------------------------------------------------------------

#: docs/theory.md, C1: η < 1/(2 max w_i) for every allowed weight vector (a far component's distance contracts
#: monotonically); the descent lemma's η < 2/L is not checked, since L is not measured.
C1_STEP = 0.3
C1_RADIUS = 30.0
C1_MIN_WEIGHT = 0.05
C1_COINCIDE = 0.2
#: docs/theory.md, C1: the ball every trajectory must reach, and the budget.
C1_EPS = 0.3
C1_STEPS = {True: 1500, False: 6000}
#: docs/theory.md, C1: the interval the final-phase exponent must fall in (leading order −1/2).
C1_EXPONENT_RANGE = (-0.6, -0.4)
#: The candidates monitored along the C1 runs (C5 reads U; the L: rows read the others).
C1_MONITORS = ("U", "V_w", "V_max", "V_bar", "R")


def c1_sizes(quick: bool):
    """(sizes (K, d), runs per size) of the C1 grid."""
    if quick:
        return [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2), (3, 2), (3, 3), (4, 3)], 4
    return [(K, d) for d in (1, 2, 3) for K in (1, 2, 3, 4)], 24


def c1_setup(settings: Settings, K: int, d: int):
    """(init (n, K, d), weights (n, K), target (d,), rtol) for one size of the C1 grid."""
    _, n = c1_sizes(settings.quick)
    rng = np.random.default_rng([settings.seed, K, d])
    target = rng.uniform(-2, 2, size=d)
    init = random_initializations(int(rng.integers(2**31)), n, K, d, C1_RADIUS, target=target, coincide=C1_COINCIDE)
    w = C1_MIN_WEIGHT + (1 - K * C1_MIN_WEIGHT) * rng.dirichlet(np.ones(K), size=n)
    # the trajectories need the gradient to a few digits only; 1e−9 everywhere but the 3-D K = 4 grids, the
    # costliest (and, in the quick run, only half of their runs)
    rtol = 1e-6 if d == 3 and K >= 4 else 1e-9
    m = n // 2 if (settings.quick and d == 3 and K >= 4) else n
    return init[:m], w[:m], target, rtol


@cache
def c1_runs(settings: Settings):
    """Reverse GD from random starts for every (K, d) of the C1 grid: {(K, d): Trajectories}."""
    sizes, _ = c1_sizes(settings.quick)
    out = {}
    for K, d in sizes:
        init, w, target, rtol = c1_setup(settings, K, d)
        out[(K, d)] = gradient_descent(init, w, GaussianMixture.single(target), step_size=C1_STEP,
                                       max_steps=C1_STEPS[settings.quick], record_every=10, record_means=False,
                                       monitors=list(C1_MONITORS), rtol=rtol)
    return out


@claim("C1", "Global convergence of reverse GD, single-Gaussian teacher",
       "For every initialization, GD on R with a fixed step converges to μ_i = μ* for all i (docs/theory.md, C1: "
       "every trajectory reaches max_i ||μ_i − μ*|| ≤ ε within the budget, none diverges).",
       uses=("c1_runs",), figures=("rates", "lyapunov"))
def check_c1(c, settings: Settings):
    """C1: max_i ||μ_i − μ*|| ≤ ε within the budget for every start; the final-phase rate, measured."""
    runs = c1_runs(settings)
    rows, reached, total, exps, curves = [], 0, 0, [], {}
    for (K, d), tr in runs.items():
        dist = tr.final_max_distance
        ok = (dist <= C1_EPS) & ~tr.diverged
        reached += int(ok.sum())
        total += len(ok)
        path = tr.monitors["V_max"]  # max_i ||μ_i − μ*|| along the recorded path
        e = [rate_exponent(tr.record_steps, path[:, b]) for b in range(path.shape[1])]
        finite = [x for x in e if np.isfinite(x)]
        exps += finite
        curves[f"K={K} d={d}"] = (tr.record_steps.tolist(), np.median(path, axis=1).tolist())
        rows.append({"K": K, "d": d, "runs": len(ok), "reached": int(ok.sum()), "max final distance": float(dist.max()),
                     "diverged": int(tr.diverged.sum()), "steps": int(tr.steps.max()),
                     "rate exponent (median)": float(np.median(finite)) if finite else "geometric"})
    lo, hi = wilson_interval(reached, total)
    med, med_lo, med_hi = median_interval(exps)
    return c.result(
        f"reverse GD, η = {C1_STEP}, {C1_STEPS[settings.quick]} steps, ε = {C1_EPS}; starts uniform in the ball of radius "
        f"{C1_RADIUS} around a random μ* ({int(100 * C1_COINCIDE)}% of components copy the previous one); weights ≥ "
        f"{C1_MIN_WEIGHT}; quadrature rtol 1e−9 (1e−6 for K = 4, d = 3)",
        PASS if reached == total else FAIL,
        numbers={"reached ε": f"{reached}/{total}", "fraction (95% Wilson)": (reached / total, lo, hi),
                 "final-phase exponent of max_i||μ_i − μ*|| vs t (median, 95% CI)": (med, med_lo, med_hi),
                 "per size": rows},
        details={"curves": curves, "exponents": exps,
                 "monitors": {f"K={K} d={d}": {"steps": tr.record_steps.tolist(),
                                               **{n: np.median(np.abs(tr.monitors[n]), axis=1).tolist() for n in C1_MONITORS}}
                              for (K, d), tr in runs.items() if K >= 2}},
    )


# --- C2 ------------------------------------------------------------------------------------------

C2_STEP = 0.2
C2_STEPS = {True: 1500, False: 3000}
C2_MOVE = 1e-3
C2_F_END = 1e-3
C2_TV_SLACK = 0.02
#: docs/theory.md, C2: from the gradient bound, a component this far from μ* moves less than C2_MOVE.
C2_TRAP_DISTANCE = 14.0


@cache
def c2_runs(settings: Settings):
    """One near and one far component (start 8–20 from μ*), forward and reverse GD from the same starts."""
    rng = np.random.default_rng([settings.seed, 2])
    n = 8 if settings.quick else 32
    out = {}
    for d in (1, 2):
        target = rng.uniform(-1, 1, size=d)
        u = rng.standard_normal((n, d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        far = target + u * rng.uniform(8, 20, size=(n, 1))
        v = rng.standard_normal((n, d))
        near = target + v * rng.uniform(0, 3, size=(n, 1)) / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        init = np.stack([near, far], axis=1)
        w_far = rng.uniform(0.1, 0.5, size=n)
        w = np.stack([1 - w_far, w_far], axis=1)
        teacher = GaussianMixture.single(target)
        steps = C2_STEPS[settings.quick]
        fwd = gradient_descent(init, w, teacher, objective="forward", step_size=C2_STEP, max_steps=steps,
                               record_every=10, rtol=1e-9)
        rev = gradient_descent(init, w, teacher, objective="reverse", step_size=C2_STEP, max_steps=steps,
                               record_every=10, record_means=False, rtol=1e-9)
        out[d] = (init, w, teacher, fwd, rev)
    return out


def trapping_bracket(rows):
    """The trapping distance lies between the farthest start that was not trapped and the nearest that
    was (when trapping is monotone in the distance on these runs): (lower, upper, monotone)."""
    free = [r["far start distance"] for r in rows if not r["trapped"]]
    held = [r["far start distance"] for r in rows if r["trapped"]]
    lower = max(free) if free else None
    upper = min(held) if held else None
    return lower, upper, (lower is None or upper is None or lower < upper)


@claim("C2", "Forward GD is initialization-dependent",
       f"GD on F is initialization-dependent: from every start with a component at least {C2_TRAP_DISTANCE:g} from μ*, "
       f"forward GD leaves it in place (moves < {C2_MOVE:g}) while F → small and TV(q, p) stays ≈ its weight, and reverse "
       f"GD from the same starts converges (docs/theory.md, C2).",
       uses=("c2_runs",), figures=("far_component", "landscape"))
def check_c2(c, settings: Settings):
    """C2: forward GD traps every component starting ≥ C2_TRAP_DISTANCE away; reverse GD does not."""
    rows, ok_all, tv_gaps, details = [], True, [], {}
    for d, (init, w, teacher, fwd, rev) in c2_runs(settings).items():
        moved = np.linalg.norm(fwd.final_means[:, 1] - init[:, 1], axis=-1)
        F_end = fwd.values[-1]
        rev_dist = rev.final_max_distance
        for b in range(len(w)):
            tv = total_variation(GaussianMixture(fwd.final_means[b], w[b]), teacher)
            gap = abs(tv.value - w[b, 1])
            tv_gaps.append(gap)
            start = float(np.linalg.norm(init[b, 1] - teacher.means[0]))
            trapped = (moved[b] < C2_MOVE) and (F_end[b] < C2_F_END) and (gap <= C2_TV_SLACK + tv.error)
            good = rev_dist[b] <= C1_EPS and (trapped or start < C2_TRAP_DISTANCE)
            ok_all &= bool(good)
            rows.append({"d": d, "far start distance": start, "w_far": float(w[b, 1]), "far moved (forward)": float(moved[b]),
                         "F end (forward)": float(F_end[b]), "TV end (forward)": (tv.value, tv.error),
                         "reverse final max distance": float(rev_dist[b]), "trapped": bool(trapped), "ok": bool(good)})
        if d == 1:
            details.update(forward_means=fwd.means.tolist(), record_steps=fwd.record_steps.tolist(), init=init.tolist(),
                           weights=w.tolist(), target=teacher.means[0].tolist())
    lower, upper, monotone = trapping_bracket(rows)
    details["rows"] = [{k: r[k] for k in ("far start distance", "far moved (forward)", "trapped")} for r in rows]
    far = [r for r in rows if r["far start distance"] >= C2_TRAP_DISTANCE]
    return c.result(
        f"K = 2, d ∈ {{1, 2}}: one component within 3 of μ*, one 8–20 away with weight 0.1–0.5; forward and reverse GD, "
        f"η = {C2_STEP}, {C2_STEPS[settings.quick]} steps; trapped = the far component moves < {C2_MOVE:g}, F_end < "
        f"{C2_F_END:g}, |TV − w_far| ≤ {C2_TV_SLACK} + (TV error); reverse converges = max_i ||μ_i − μ*|| ≤ {C1_EPS}",
        PASS if ok_all and far else FAIL,
        numbers={"runs": len(rows),
                 f"trapped / starts ≥ {C2_TRAP_DISTANCE:g} away": f"{sum(r['trapped'] for r in far)}/{len(far)}",
                 "all conditions met": ok_all, "max |TV − w_far|": float(max(tv_gaps)),
                 "trapping distance (measured: between the farthest free and the nearest trapped start)":
                     f"[{lower}, {upper}]" + ("" if monotone else " (not monotone on these runs)"),
                 "per run": rows},
        details=details,
    )
