"""C5: a Lyapunov function for reverse GD with a single-Gaussian teacher (docs/theory.md, C5).

The candidate, named before any measurement: U(θ) = Σ_i ||μ_i − μ*||² = ||θ − θ*||². It never increases
along the gradient flow iff ⟨θ − θ*, ∇R(θ)⟩ ≥ 0 (R increases along every ray from θ*), and along GD
ΔU = −2η⟨θ − θ*, ∇R⟩ + η²||∇R||² < 0 iff η < η_max(θ) = 2⟨θ − θ*, ∇R⟩/||∇R||².

PASS requires all three: (1) U never increases along any C1 trajectory beyond the accuracy slack;
(2) the falsifier finds no violation within its stated budget (a float violation that does not confirm
blocks PASS too: undecided is not PASS); (3) the verifier certifies its whole stated region. A confirmed
violation is FAIL.
"""

from __future__ import annotations

import numpy as np

from rfisher.claims.candidates import falsifier_settings, search
from rfisher.claims.registry import FAIL, PASS, Settings, claim
from rfisher.claims.single_teacher import C1_STEP, c1_runs

CANDIDATE = "U"
#: The family scanned for the report's figure: V_α = Σ w_i^α ||μ_i − μ*||² (α = 0 is U, α = 1 is V_w).
SCAN_ALPHAS = {True: (0.5, 1.0), False: tuple(round(0.1 * k, 1) for k in range(1, 11))}


def family_scan(settings: Settings, u_result) -> dict:
    """The falsifier over V_α: per α, the worst normalised flow derivative and the confirmation status
    (α = 0 is U, whose search is C5's own)."""
    from rfisher import falsifier

    scan = falsifier.family_scan(SCAN_ALPHAS[settings.quick], seed=settings.seed, **falsifier_settings(settings.quick))
    scan = falsifier.FamilyScan(scan.family, (0.0, *scan.parameters), (u_result, *scan.results))
    envelopes = {}
    for i, a in enumerate(scan.parameters):
        x, y = scan.envelope(i)
        envelopes[f"{a:g}"] = (x.tolist(), y.tolist())
    confirmed = (falsifier.CONFIRMED, falsifier.CERTIFIED)
    return {"rows": [{**r, "confirmed": r["status"] in confirmed} for r in scan.rows()], "envelopes": envelopes,
            "without_violation": list(scan.without_violation), "refuted": list(scan.refuted)}


@claim("C5", "A Lyapunov function for reverse GD, single-Gaussian teacher",
       "The proofs rest on a Lyapunov function that decreases along GD; here the candidate U = Σ_i ||μ_i − μ*||² "
       "(docs/theory.md, C5): it never increases along any C1 trajectory, the falsifier finds no violation "
       "of ⟨θ − θ*, ∇R⟩ ≥ 0 or of the one-step decrease, and ⟨θ − θ*, ∇R⟩ > 0 is certified on the whole of a "
       "stated region (K = 2).",
       uses=("c1_runs",), figures=("family_scan", "certified_region"))
def check_c5(c, settings: Settings):
    """C5: the three conditions of the module docstring."""
    runs = c1_runs(settings)
    n_inc = sum(int(tr.n_increases[CANDIDATE].sum()) for tr in runs.values())
    steps = sum(tr.trajectory_steps() for tr in runs.values())
    worst = max(float(np.nanmax(tr.max_increase[CANDIDATE], initial=-np.inf)) for tr in runs.values())
    numbers = {"(1) C1 steps checked": steps, "(1) steps increasing U beyond the slack": n_inc,
               "(1) largest one-step change of U": worst}
    conditions = [n_inc == 0]
    details = {}
    found = search(CANDIDATE, settings, eta=C1_STEP)
    numbers["(2) falsifier (flow, and one step at η = C1's)"] = found.summary()
    conditions.append(not found.violated)
    details["falsifier"] = found.as_dict()
    details["family"] = family_scan(settings, found)
    numbers["family scan V_α: α without a violation found"] = details["family"]["without_violation"]
    numbers["family scan V_α: α with a confirmed violation"] = details["family"]["refuted"]
    try:
        from rfisher import verifier
    except ImportError as exc:
        numbers["(3) certified region"] = f"not run: {exc}"
        conditions.append(False)
    else:
        region = verifier.report_region(quick=settings.quick)
        numbers["(3) certified region"] = region.summary()
        conditions.append(region.certified_boxes > 0 and region.complete)
        details["region"] = region.details()
    return c.result(
        "U's exact one-step change at every step of the C1 runs against the accuracy slack; the falsifier "
        "(rfisher/falsifier.py) on the normalised flow derivative and the one-step change; the verifier's "
        "branch-and-bound in ball arithmetic (rfisher/verifier.py)",
        PASS if all(conditions) else FAIL, numbers=numbers, details=details)
