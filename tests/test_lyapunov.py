"""Lyapunov candidates: the one-step changes are exact (symbolically), the generated code matches
SymPy, and the counterexamples the searches found really increase the candidates — checked with
the 40-digit mpmath gradient, so the increase is not a floating-point artefact."""

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from derivations import lyapunov as L
from derivations.symbols import MixtureSymbols
from rfisher import GaussianMixture, counterexamples, lyapunov, reference
from rfisher.counterexamples import StepConfig
from tests import strategies as S


@pytest.mark.parametrize("K,d", [(1, 1), (2, 1), (3, 2), (2, 3)])
def test_closed_form_changes_are_exact(K, d):
    ms = MixtureSymbols(K, 1, d)
    assert sp.expand(L.weighted_distance_change(ms) - L.one_step_change(ms, L.weighted_distance(ms))) == 0
    assert sp.expand(L.mean_distance_change(ms) - L.one_step_change(ms, L.mean_distance(ms))) == 0
    # ΔV_w vanishes at the critical step η* (and at η = 0): it is the other root of the quadratic
    crit = L.weighted_distance_critical_step(ms)
    assert sp.simplify(L.weighted_distance_change(ms).subs(ms.eta, crit)) == 0
    # V_w and U are members of the family V_α, printed once as the family
    for member, alpha in (("V_w", 1), ("U", 0)):
        cand = {c.name: c for c in L.BUILTIN}[member]
        assert cand.member_of == ("V_alpha", alpha)
        assert sp.expand(cand.builder(ms) - L.weighted_family(ms, alpha)) == 0
        assert sp.expand(cand.one_step_change(ms) - L.weighted_family_change(ms, alpha)) == 0


@pytest.mark.parametrize("K,d", [(1, 2), (2, 1), (3, 2), (4, 3)])
@given(data=st.data())
def test_generated_candidates_match_sympy(K, d, data):
    """Value, gradient and one-step change of every built-in candidate (through the generated code,
    families included) equal the SymPy expressions at 30 digits."""
    ms = MixtureSymbols(K, 1, d)
    means = data.draw(S.points(d, K, 5.0))
    grad = data.draw(S.points(d, K, 2.0))
    w = data.draw(S.weights(K))
    target = data.draw(S.points(d, 1, 2.0))[0]
    eta = data.draw(st.floats(0.0, 1.0))
    subs = {**{ms.mu[i][a]: means[i, a] for i in range(K) for a in range(d)}, **dict(zip(ms.w, w)),
            **dict(zip(ms.target, target)), **{ms.g[i][a]: grad[i, a] for i in range(K) for a in range(d)},
            ms.eta: eta}
    subs = {k: sp.Float(float(v), 30) for k, v in subs.items()}
    for cand in L.BUILTIN:
        mon = lyapunov.resolve(cand.name, K, d)
        V = float(sp.N(cand.builder(ms).xreplace(subs), 30))
        dV = float(sp.N(L.one_step_change(ms, cand.builder(ms)).xreplace(subs), 30))
        dVdmu = np.array([[float(sp.N(c.xreplace(subs), 30)) for c in row] for row in L.gradient(ms, cand.builder(ms))])
        scale = 1 + abs(V)
        assert abs(mon.value(means, w, target) - V) <= 1e-13 * scale
        assert abs(mon.delta(means, w, target, grad, eta) - dV) <= 1e-13 * scale
        if cand.name != "V_max":  # its gradient is not defined at ties (Heaviside); checked away from them
            np.testing.assert_allclose(mon.gradient(means, w, target), dVdmu, rtol=1e-13, atol=1e-13 * scale)


def _reference_step(cfg: StepConfig):
    """μ, w, μ*, μ − η∇R at 40 digits (d = 1 configurations, or collinear ones mapped to a line)."""
    means, w, target = cfg.arrays()
    ref = reference.reverse_fisher(GaussianMixture(means, w), GaussianMixture.single(target))
    mp = mpmath.mpf
    mu = [[mp(float(v)) for v in row] for row in means]
    new = [[mu[i][a] - mp(cfg.eta) * ref.gradient[i][a] for a in range(len(row))] for i, row in enumerate(mu)]
    return mu, [mp(float(x)) for x in w], [mp(float(t)) for t in target], new, ref.error


def _V(name, mu, w, t):
    dist2 = [sum((m - c) ** 2 for m, c in zip(row, t)) for row in mu]
    if name == "V_w":
        return sum(wi * d2 for wi, d2 in zip(w, dist2))
    if name == "V_max":
        return max(mpmath.sqrt(d2) for d2 in dist2)
    bar = [sum(wi * row[a] for wi, row in zip(w, mu)) for a in range(len(t))]
    return sum((b - c) ** 2 for b, c in zip(bar, t))


#: The counterexamples the searches found (rfisher.counterexamples.KNOWN_COUNTEREXAMPLES).
PINNED = counterexamples.KNOWN_COUNTEREXAMPLES


@pytest.mark.parametrize("name,cfg", PINNED)
def test_pinned_counterexamples_increase_the_candidate(name, cfg):
    dv, slack = counterexamples.one_step(name, cfg)
    assert dv > slack > 0
    with mpmath.workdps(reference.DPS):
        mu, w, t, new, err = _reference_step(cfg)
        exact = _V(name, new, w, t) - _V(name, mu, w, t)
        # the reference gradient is within err; the change moves by at most ~η·err·(|μ| + 1)·K
        assert exact > 1e3 * err
        assert abs(exact - dv) <= 1e-9 * abs(exact) + slack


def test_V_w_increases_to_first_order():
    """At θ = ((0), (0.1), (−0.03)), w = (0.85, 0.05, 0.1), μ* = 0, Σ w_i (μ_i − μ*) ∂_i R < 0: the
    gradient flow itself increases V_w (η* < 0), so no step size makes V_w a Lyapunov function."""
    means = np.array([[[0.0], [0.1], [-0.03]]])
    w = np.array([0.85, 0.05, 0.1])
    with mpmath.workdps(reference.DPS):
        ref = reference.reverse_fisher(GaussianMixture(means[0], w), GaussianMixture.single([0.0]))
        first_order = sum(mpmath.mpf(float(w[i])) * mpmath.mpf(float(means[0, i, 0])) * ref.gradient[i][0] for i in range(3))
        assert first_order < -1e3 * ref.error
    from rfisher.quadrature import integrate

    g = integrate("reverse", means, w, [[0.0]]).value[:, 1:].reshape(1, 3, 1)
    from rfisher.lyapunov import critical_step

    assert critical_step(means, w, np.zeros(1), g)[0] < 0


@given(cfg=counterexamples.configurations())
@example(cfg=StepConfig(((3.0,), (-1.0,)), (0.5, 0.5), (0.0,), 0.3))
def test_R_decreases_along_one_step(cfg):
    """R itself: the searches found no one-step increase for η ≤ 0.3 (descent lemma regime)."""
    dv, slack = counterexamples.one_step("R", cfg)
    assert dv <= slack


def test_user_candidates_with_one_name_and_different_formulas_stay_apart():
    """The formula is part of a candidate's identity: same name, different builders → different monitors
    (a cache keyed on the name alone would hand the second the first's compiled formula)."""
    quadratic = lyapunov.UserCandidate("V_user", lambda ms: sum((m - t) ** 2 for m, t in zip(ms.mu[0], ms.target)))
    quartic = lyapunov.UserCandidate("V_user", lambda ms: sum((m - t) ** 4 for m, t in zip(ms.mu[0], ms.target)))
    assert quadratic != quartic
    mu = np.array([[[2.0], [0.0]]])
    w = np.array([[0.5, 0.5]])
    target = np.zeros(1)
    assert float(quadratic.resolve(2, 1).value(mu, w, target)[0]) == 4.0
    assert float(quartic.resolve(2, 1).value(mu, w, target)[0]) == 16.0
