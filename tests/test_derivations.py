"""The closed forms of docs/theory.md ("Gradients") equal their sympy.diff definitions exactly (derivations/proofs.py)."""

import pytest
import sympy as sp

from derivations import fisher, identities, proofs, scores
from derivations.symbols import MixtureSymbols

SIZES = [(1, 1, 1), (2, 1, 1), (3, 1, 1), (2, 2, 1), (3, 2, 1), (2, 1, 2), (3, 1, 2), (2, 2, 2)]


@pytest.mark.parametrize("K,J,d", SIZES)
def test_score_is_posterior_mean_minus_x(K, J, d):
    ms = MixtureSymbols(K, J, d)
    for a, b in zip(scores.student_score_from_definition(ms), scores.student_score(ms), strict=True):
        assert proofs.equal_exactly(a, b, ms)
    for a, b in zip(scores.teacher_score_from_definition(ms), scores.teacher_score(ms), strict=True):
        assert proofs.equal_exactly(a, b, ms)


@pytest.mark.parametrize("K,J,d", SIZES)
def test_posterior_mean_jacobian_closed_form(K, J, d):
    """∂m_θ/∂μ_j = r_j [I + (μ_j − m)(x − μ_j)^T]."""
    ms = MixtureSymbols(K, J, d)
    for j in range(K):
        lhs = scores.posterior_mean_jacobian_from_definition(ms, j)
        rhs = scores.posterior_mean_jacobian(ms, j)
        assert all(proofs.equal_exactly(lhs[a, b], rhs[a, b], ms) for a in range(d) for b in range(d))


@pytest.mark.parametrize("K,J,d", SIZES)
def test_forward_gradient_closed_form(K, J, d):
    """∇_{μ_j}||e||² = 2 r_j (e + (x − μ_j)⟨μ_j − m_θ, e⟩), from diff of the definition."""
    ms = MixtureSymbols(K, J, d)
    lhs = fisher.forward_gradient_integrand_from_definition(ms)
    rhs = fisher.forward_gradient_integrand(ms)
    assert all(proofs.equal_exactly(lhs[j][a], rhs[j][a], ms) for j in range(K) for a in range(d))


@pytest.mark.parametrize("K,J,d", SIZES)
def test_reverse_gradient_closed_form_includes_moving_measure(K, J, d):
    """∂(q_θ ||e||²)/∂μ_j / q_θ = r_j (x − μ_j)||e||² + 2 r_j (e + (x − μ_j)⟨μ_j − m_θ, e⟩)."""
    ms = MixtureSymbols(K, J, d)
    lhs = fisher.reverse_gradient_integrand_from_definition(ms)
    rhs = fisher.reverse_gradient_integrand(ms)
    assert all(proofs.equal_exactly(lhs[j][a], rhs[j][a], ms) for j in range(K) for a in range(d))


def test_proof_rejects_a_wrong_closed_form():
    """Negative control: dropping the moving-measure term must make the proof fail."""
    ms = MixtureSymbols(2, 1, 1)
    lhs = fisher.reverse_gradient_integrand_from_definition(ms)
    wrong = fisher.forward_gradient_integrand(ms)
    assert not proofs.equal_exactly(lhs[0][0], wrong[0][0], ms)
    # and a sign error in the Jacobian
    jac = scores.posterior_mean_jacobian(ms, 0)
    assert not proofs.equal_exactly(scores.posterior_mean_jacobian_from_definition(ms, 0)[0, 0], -jac[0, 0], ms)


def test_convention_has_no_factor_one_half():
    assert fisher.FISHER_FACTOR == 1


@pytest.mark.parametrize("K,d", [(1, 1), (2, 1), (3, 1), (2, 2), (3, 2)])
def test_identities_pointwise(K, d):
    """Pointwise parts of docs/theory.md's identities I1–I3 and I5 (see derivations/identities.py)."""
    ms = MixtureSymbols(K, 1, d)
    assert sp.simplify(proofs.definition_as_rational(identities.stein_pointwise_residual(ms), ms)) == 0
    assert proofs.equal_exactly(identities.laplacian_log_q_from_definition(ms), identities.laplacian_log_q(ms), ms)
    assert proofs.responsibilities_sum_to_one(identities.decomposition_residual(ms), ms) == 0
    for i in range(K):
        res = identities.responsibility_times_density_residual(ms, i)
        assert sp.cancel(proofs.definition_as_rational(res, ms)) == 0
    assert all(sp.simplify(c) == 0 for c in identities.posterior_mean_equivariance_residual(ms))


def test_posterior_mean_x_jacobian_is_covariance():
    """∂m_θ/∂x = Cov_{r(x)}(μ) (so Δ log q = tr ∂m/∂x − d)."""
    ms = MixtureSymbols(3, 1, 2)
    lhs = scores.posterior_mean_x_jacobian_from_definition(ms)
    rhs = scores.posterior_covariance(ms)
    assert all(proofs.equal_exactly(lhs[a, b], rhs[a, b], ms) for a in range(2) for b in range(2))
