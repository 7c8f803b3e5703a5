"""The per-basin candidate for a mixture teacher, V_basin = Σ_i ||μ_i − ν_{j(i)}||² (docs/theory.md,
"Lyapunov candidates", "Per-basin candidate (mixture teacher)"; rfisher/basin.py).

Two rows; the expected verdicts (docs/theory.md, "Lyapunov candidates") were fixed from exploratory searches
before the rows were first run:

* L:V_basin (flow condition in the separation regime): expected REFUTED. Where the student's weights or
  its assignment to the teacher components do not match the teacher (two students in one basin, or
  w_i ≠ π_{j(i)}), the stationary point of R is not at the teacher means but an exponentially small
  distance away, and inside that distance ⟨∇V_basin, ∇R⟩ < 0. The row searches Δ = 4 and 8 (d = 1,
  J = K = 2) and confirms the worst point at 40 digits. A search that finds no violation is PASS, unexpected.
* L:V_basin-C3 (along C3 trajectories, matched weights, Δ ≥ 6): expected PASS. The C3 runs (initializations
  from p, uniform weights, K = J) never increase V_basin beyond the accuracy slack at Δ ∈ {6, 8}; one run
  with an increase is FAIL, unexpected. (Declared from 16 runs per point; the full run's 64 per point gives
  FAIL at Δ = 6: 3 of 128 runs increase V_basin — docs/theory.md, "Lyapunov candidates". Left as declared.)
"""

from __future__ import annotations

import numpy as np

from rfisher.claims.registry import FAIL, PASS, REFUTED, Settings, claim

#: Separations searched by L:V_basin and the runs of L:V_basin-C3 (quick, full).
SEARCH_SEPARATIONS = (4.0, 8.0)
SEARCH_POINTS = {True: 300, False: 1500}
C3_SEPARATIONS = (6.0, 8.0)
C3_RUNS = {True: (16, 300), False: (64, 600)}


@claim("L:V_basin", "Per-basin candidate V_basin = Σ_i ||μ_i − ν_j(i)||² (mixture teacher), flow condition",
       "V_basin, with j(i) the teacher component nearest μ_i, does not increase along the gradient flow of R in the "
       "separation regime: teacher means ≥ Δ apart, every student mean within 0.9·Δ/2 of its teacher mean "
       "(docs/theory.md, \"Lyapunov candidates\": expected refuted near the teacher means when the student's "
       "weights or assignment do not match the teacher)",
       expected=(REFUTED,))
def check_basin_flow(c, settings: Settings):
    """Random (log-uniform distances) and targeted search of ⟨∇V_basin, ∇R⟩ at Δ = 4 and 8, J = K = 2, d = 1;
    the worst point confirmed with the 40-digit reference."""
    from rfisher import basin

    rows, verdicts = [], []
    for delta in SEARCH_SEPARATIONS:
        s = basin.search(2, 2, 1, delta, n_random=SEARCH_POINTS[settings.quick], seed=settings.seed)
        dist = np.linalg.norm(s.means - basin.assigned_means(s.means, s.teacher_means), axis=-1)
        row = {"Δ": delta, "points evaluated": s.evaluated, "worst normalised derivative": s.worst_c,
               "margin": s.worst_margin, "D = ⟨∇V, ∇R⟩ (float) ± slack": (s.D, s.slack),
               "point": f"means={s.means.ravel().tolist()}, weights={s.weights.tolist()}, "
                        f"teacher={s.teacher_means.ravel().tolist()}",
               "distance to assigned teacher means": dist.tolist()}
        if s.violated:
            D, bound = basin.confirm(s)
            row["D at 40 digits ± bound"] = (float(D), float(bound))
            verdicts.append(REFUTED if D + bound < 0 else FAIL)
        else:
            verdicts.append(PASS)
        rows.append(row)
    verdict = REFUTED if REFUTED in verdicts else (FAIL if FAIL in verdicts else PASS)
    return c.result(
        f"{SEARCH_POINTS[settings.quick]} random points per Δ (distances to the assigned teacher means log-uniform in "
        "[1e−6, 0.9]·Δ/2, weights ≥ 0.05 at random, components assigned at random), compass refinement of the 4 "
        "worst; ∇R at rtol 1e−9 with its error bound; a violation is confirmed when D + bound < 0 at 40 digits "
        "(rfisher.reference)", verdict, numbers={"search": rows})


@claim("L:V_basin-C3", "Per-basin candidate V_basin along C3 trajectories (Δ ≥ 6)",
       "Along reverse GD from C3 initializations (drawn from p, uniform weights, K = J, η = 0.3), V_basin never "
       "increases beyond the accuracy slack at separations Δ ∈ {6, 8} (docs/theory.md, \"Lyapunov candidates\")",
       expected=(PASS,))
def check_basin_c3(c, settings: Settings):
    """Every step of the C3-style runs: ΔV_basin of the step taken against rfisher.lyapunov.change_slack."""
    from rfisher import basin

    n, steps = C3_RUNS[settings.quick]
    rows, total = [], 0
    for J, d in ((2, 1), (3, 1)):
        for delta in C3_SEPARATIONS:
            r = basin.trajectory_check(J, J, d, delta, n=n, steps=steps, seed=settings.seed)
            bad = int(np.sum(r.increases > 0))
            total += bad
            rows.append({"J = K": J, "d": d, "Δ": delta, "runs": n, "steps": steps, "runs with an increase": bad,
                         "runs with ⟨∇V, ĝ⟩ + slack < 0": int(np.sum(r.flow_violations > 0)),
                         "C3 success fraction": float(np.mean(r.success)), "largest final V_basin": float(np.max(r.final_V))})
    return c.result(
        "reverse GD θ ← θ − ηĝ (ĝ at rtol 1e−6 and atol 1e−10, as C3) from 'teacher' initializations on 'random' "
        "layouts; at every step the exact ΔV_basin (derivations/basin.py) against its slack "
        "(rfisher.lyapunov.change_slack)", PASS if total == 0 else FAIL, numbers={"runs": rows})
