"""The identities of docs/theory.md hold numerically to the quadrature's accuracy (single-Gaussian teacher).

The pointwise (algebraic) parts are proved in tests/test_derivations.py; here the expectation
steps: integrands from derivations/identities.py, lambdified, integrated by the grid rule with
its error estimate (``rfisher.quadrature.expectation``).
"""

from functools import cache

import numpy as np
import sympy as sp
from hypothesis import example, given

from derivations import identities, scores
from derivations.symbols import MixtureSymbols
from rfisher import GaussianMixture, pointwise, reverse_fisher
from rfisher import quadrature as Q
from tests import strategies as S
from tests.tolerances import assert_at_most, assert_within


@cache
def _integrands(K, d):
    """numpy f(x, mu, w, target) → [Stein, ||∇log q||², tr Cov_r(μ), m_θ (d entries), ||m_θ||²]."""
    ms = MixtureSymbols(K, 1, d)
    m = scores.student_posterior_mean(ms)
    exprs = [identities.stein_integrand(ms), identities.student_fisher_integrand(ms), identities.spread_integrand(ms),
             *m, sum(c**2 for c in m)]
    args = [*ms.x, *[c for row in ms.mu for c in row], *ms.nu[0], *ms.r]
    return sp.lambdify(args, exprs, modules="numpy")


def _expect(student, teacher):
    K, d = student.K, student.d
    f = _integrands(K, d)
    def g(x):
        r = pointwise.responsibilities(x, student.means, student.weights)
        cols = f(*x.T, *student.means.ravel(), *teacher.means[0], *r.T)
        return np.stack([np.broadcast_to(c, x.shape[:1]) for c in cols], axis=1)

    return Q.expectation(g, student.means, student.weights, teacher.means, teacher.weights)


@given(config=S.single_teacher_configurations(d=1))
@example(config=(GaussianMixture([[3.0], [-1.0]]), GaussianMixture.single([0.0])))
def test_identities_d1(config):
    _check_identities(*config)


@given(config=S.single_teacher_configurations(d=2, max_K=3, radius=4.0))
def test_identities_d2(config):
    _check_identities(*config)


def _check_identities(student, teacher):
    d = student.d
    mu_star = teacher.means[0]
    val, err = _expect(student, teacher)
    stein, fisher_q, spread, m_mean, m_sq = val[0], val[1], val[2], val[3:3 + d], val[3 + d]
    e_stein, e_fisher, e_spread, e_m, e_msq = err[0], err[1], err[2], err[3:3 + d], err[3 + d]
    # 1. Stein: E_q⟨∇log q, ∇log p⟩ = d
    assert_within(stein, d, e_stein + 1e-13 * d, "Stein")
    # 2. Fisher information: E_q||∇log q||² = d − E_q tr Cov_r(μ)
    assert_within(fisher_q, d - spread, e_fisher + e_spread + 1e-13 * d, "Fisher information")
    # 3. Decomposition: E_q m_θ = μ̄, R = V_w − E_q Σ r_i||μ_i − m||² = ||μ̄ − μ*||² + Var_q(m)
    assert_within(m_mean, student.mean, e_m + 1e-13 * (1 + np.abs(student.means).max()), "E_q m = μ̄")
    R = reverse_fisher(student, teacher)
    V_w = float(student.weights @ np.sum((student.means - mu_star) ** 2, axis=1))
    assert_within(R.value, V_w - spread, R.value_error + e_spread + 1e-13 * V_w, "R = V_w − spread")
    var_m = m_sq - float(student.mean @ student.mean)
    bar = float(np.sum((student.mean - mu_star) ** 2))
    assert_within(R.value, bar + var_m, R.value_error + e_msq + 1e-12 * (1 + m_sq), "R = ||μ̄ − μ*||² + Var m")
    # bounds 0 ≤ ||μ̄ − μ*||² ≤ R ≤ V_w (one-sided, slack = the error bounds)
    assert_at_most(bar, R.value, R.value_error + 1e-14, "||μ̄ − μ*||² ≤ R")
    assert_at_most(R.value, V_w, R.value_error + 1e-14 * V_w, "R ≤ V_w")
    # 5. Sum rule: Σ_j ∇_{μ_j} R = 2(μ̄ − μ*)
    assert_within(R.gradient.sum(axis=0), 2 * (student.mean - mu_star),
                  R.gradient_error.sum(axis=0) + 1e-13 * (1 + V_w), "sum rule")


@given(config=S.single_teacher_configurations(d=1, max_K=3))
def test_R_vanishes_exactly_at_the_optimum_and_only_there(config):
    """4. R(θ) = 0 iff every μ_i = μ*: at the optimum the integrand is identically 0 and the rule
    returns 0; away from it R ≥ max(||μ̄ − μ*||², Var_q m) > 0."""
    student, teacher = config
    at_opt = student.with_means(np.repeat(teacher.means, student.K, axis=0))
    r0 = reverse_fisher(at_opt, teacher)
    assert r0.value == 0.0 and np.all(r0.gradient == 0.0)
    spread = np.max(np.linalg.norm(student.means - teacher.means[0], axis=1))
    if spread > 1e-3:
        R = reverse_fisher(student, teacher)
        assert R.value > R.value_error
