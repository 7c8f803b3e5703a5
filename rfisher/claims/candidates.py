"""One row per built-in Lyapunov candidate, made from derivations/lyapunov.py (docs/theory.md,
"Lyapunov candidates"): adding a candidate there (and regenerating) adds its row here.

A row runs the falsifier (rfisher/falsifier.py) on the candidate's flow condition ⟨∇V, ∇R⟩ ≥ 0: a
violation makes V increase along the gradient flow, so along GD for all small enough steps. A
violation counts as REFUTED only when an independent computation confirms it: a certified ball
(d = 1 or collinear means, python-flint) or the 40-digit reference (d ≤ 2). A violation that does
not confirm, or cannot be confirmed because a library is missing, is FAIL. Each candidate's
expected verdict is declared next to its expression (derivations/lyapunov.py).
"""

from __future__ import annotations

from functools import cache

from rfisher.claims.registry import FAIL, PASS, REFUTED, Claim, Settings, claim, claim_source
from rfisher.claims.single_teacher import C1_STEP, c1_runs

#: The falsifier's settings (docs/theory.md, "Work limits"): the full run uses the falsifier's defaults
#: (1500 examples, K = 2–4, d = 1–3); the quick run a search small enough for the one-minute report at which
#: the power test (tests/test_claims.py, tests/test_falsifier.py) still refutes every refuted candidate.
QUICK_SEARCH = {"budget": 150, "K_range": (2, 3), "d_range": (1, 2), "refine_iterations": 12,
                "search_nodes": 40_000_000, "refine_nodes": 20_000_000}


def falsifier_settings(quick: bool) -> dict:
    """Keyword arguments of ``falsifier.falsify`` for the quick or the full run."""
    from rfisher import falsifier

    return dict(QUICK_SEARCH) if quick else {"budget": falsifier.DEFAULT_BUDGET}


def search_description(quick: bool) -> str:
    kw = falsifier_settings(quick)
    extra = ", ".join(f"{k} {v}" for k, v in kw.items() if k != "budget")
    return f"{kw['budget']} hypothesis examples" + (f" ({extra})" if extra else " (K = 2–4, d = 1–3)")


def verdict_of(found) -> str:
    """REFUTED for a confirmed violation, FAIL for one that did not confirm, PASS for none."""
    if found.refuted:
        return REFUTED
    return FAIL if found.violated else PASS


@cache
def search(spec, settings: Settings, eta=None):
    """The falsifier's result for a candidate (deterministic: cached per process, like the shared runs)."""
    from rfisher import falsifier

    return falsifier.falsify(spec, eta=eta, seed=settings.seed, **falsifier_settings(settings.quick))


def candidate_check(spec):
    def check(c: Claim, settings: Settings):
        found = search(spec, settings)
        return c.result(
            f"falsifier (rfisher/falsifier.py): {search_description(settings.quick)}, seed "
            f"{settings.seed}, targeted on the normalised flow derivative ⟨∇V, ∇R⟩/(||∇V|| ||∇R||), refined, shrunk, and "
            "confirmed in ball arithmetic or with the 40-digit reference",
            verdict_of(found), numbers={"falsifier": found.summary()}, details={"falsifier": found.as_dict()})

    return check


@claim_source
def candidate_rows() -> list[Claim]:
    """An L:<name> row for each candidate of derivations.lyapunov.BUILTIN (but U, which is C5), with the
    verdicts it declares."""
    from derivations import lyapunov

    rows = []
    for cand in lyapunov.BUILTIN:
        if cand.name == "U":
            continue  # the C5 candidate: its row is C5
        cid = f"L:{cand.name}"
        check = candidate_check(cand.name)
        row = Claim(cid, f"Lyapunov candidate {cand.name} = {cand.description}",
                    f"{cand.name} = {cand.description} does not increase along the gradient flow of R, i.e. "
                    "⟨∇V, ∇R⟩ ≥ 0 everywhere (docs/theory.md, \"Lyapunov candidates\")", None, tuple(cand.expected), ())
        rows.append(Claim(row.id, row.title, row.statement, _bound(check, row), row.expected, row.uses))
    return rows


def _bound(fn, row):
    def check(settings):
        return fn(row, settings)

    return check


@claim("L:R+V_w", "Lyapunov candidate R + c·V_w (c = 1)",
       "R + V_w does not increase along the gradient flow of R (docs/theory.md, \"Lyapunov candidates\": it fails for "
       "every fixed c > 0, where ⟨∇V_w, ∇R⟩ < −||∇R||²/c)",
       expected=(REFUTED,))
def check_objective_plus(c, settings: Settings):
    """R + 1·V_w: the falsifier must find a confirmed flow violation."""
    from rfisher import falsifier

    return candidate_check(falsifier.ObjectivePlus(1.0, "V_w"))(c, settings)


@claim("L:R", "Lyapunov candidate R(θ) itself",
       f"R does not increase along GD steps with η = {C1_STEP} on any C1 trajectory (the descent lemma's regime η < 2/L; "
       "docs/theory.md, \"Lyapunov candidates\")",
       expected=(PASS,), uses=("c1_runs",))
def check_objective(c, settings: Settings):
    """R itself along every step of the C1 runs (its change, from consecutive evaluations, against the sum of
    their error bounds)."""
    runs = c1_runs(settings)
    n_inc = sum(int(tr.n_increases["R"].sum()) for tr in runs.values())
    steps = sum(tr.trajectory_steps() for tr in runs.values())
    return c.result("R at consecutive steps of the C1 runs; an increase must exceed the sum of the two values' error "
                    "bounds", PASS if n_inc == 0 else FAIL,
                    numbers={"steps checked": steps, "steps where R increased beyond its error bounds": n_inc})


# --- KL(q‖p) and KL(p‖q): quadrature-backed candidates (rfisher/kl.py) ----------------------------------

#: KL rows: (budget, K range, d range, refine points, refine iterations), quick and full. Smaller than the
#: SymPy candidates' (each ∇V is a quadrature; d ≤ 2: the 40-digit confirmation of KL covers d = 1).
KL_SEARCH = {True: (300, (2, 3), (1, 1), 4, 20), False: (1500, (2, 3), (1, 2), 9, 40)}


def kl_check(kind: str):
    def check(c: Claim, settings: Settings):
        from rfisher import falsifier, kl

        budget, K_range, d_range, points, iterations = KL_SEARCH[settings.quick]
        cand = kl.KL_REVERSE if kind == "reverse" else kl.KL_FORWARD
        found = falsifier.falsify(cand, budget, K_range=K_range, d_range=d_range, seed=settings.seed, refine_points=points,
                                  refine_iterations=iterations, confirm_violations=False)
        f = found.flow
        numbers = {"falsifier": found.summary()}
        verdict = PASS
        if f.violated:  # confirm at 40 digits (d = 1): ∇R from rfisher.reference, ∇KL from kl.reference_1d
            verdict = FAIL
            for cfg in (f.shrunk, f.worst):
                if cfg.d == 1:
                    D, bound, _ = kl.confirm_flow(kind, [m[0] for m in cfg.means], cfg.weights)
                    numbers[f"40 digits at {cfg}"] = f"D = {float(D):.6g} ± {float(bound):.2g}"
                    if D + bound < 0:
                        verdict = REFUTED
                        break
        return c.result(
            f"falsifier (rfisher/falsifier.py): {budget} hypothesis examples, K ∈ {list(K_range)}, d ∈ {list(d_range)}, "
            f"seed {settings.seed}, on ⟨∇KL, ∇R⟩/(||∇KL|| ||∇R||); ∇KL by quadrature with its error bound in the slack "
            "(rfisher/kl.py); a violation is confirmed at 40 digits (d = 1)", verdict, numbers=numbers,
            details={"falsifier": found.as_dict()})

    return check


@claim("L:KL(q‖p)", "Lyapunov candidate KL(q_θ‖p), single-Gaussian teacher",
       "KL(q_θ‖p) does not increase along the gradient flow of R (docs/theory.md, \"Lyapunov candidates\": expected to "
       "survive the falsifier's budget)", expected=(PASS,))
def check_kl_reverse(c, settings: Settings):
    """KL(q‖p): the falsifier on its flow condition."""
    return kl_check("reverse")(c, settings)


@claim("L:KL(p‖q)", "Lyapunov candidate KL(p‖q_θ), single-Gaussian teacher",
       "KL(p‖q_θ) does not increase along the gradient flow of R (docs/theory.md, \"Lyapunov candidates\": expected to "
       "survive the falsifier's budget)", expected=(PASS,))
def check_kl_forward(c, settings: Settings):
    """KL(p‖q): the falsifier on its flow condition."""
    return kl_check("forward")(c, settings)
