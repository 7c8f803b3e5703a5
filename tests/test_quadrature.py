"""The grid rule and its kernels: same sums as plain numpy, stable at any separation,
deterministic, batch-independent; the Monte Carlo rule within its standard error."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfisher import GaussianMixture, generated_modules, montecarlo, reverse_fisher
from rfisher import quadrature as Q
from tests import strategies as S
from tests.tolerances import MC_SIGMAS, assert_within


def _raw(objective, mu, w, nu, p, integrands=None):
    """Kernel sums and plain-numpy sums on the same plan."""
    from rfisher.mixture import as_batch

    mu, w, nu, p = as_batch(mu, w, nu, p)
    mu, nu = Q.centered(mu, nu, p)
    plan = Q.plan_grid(objective, mu, w, nu, p, 1e-12)
    out, npts = Q._run_kernel(objective, mu, w, nu, p, plan)
    ref = Q.integrate_numpy(objective, mu, w, nu, p, integrands=integrands)
    return out, npts, ref


@pytest.mark.parametrize("K,J,d", [(1, 1, 1), (2, 1, 1), (3, 2, 1), (2, 1, 2), (3, 2, 2)])
@pytest.mark.parametrize("objective", ["forward", "reverse"])
@settings(max_examples=5)
@given(data=st.data())
def test_kernel_equals_plain_numpy_rule(K, J, d, objective, data):
    """The numba kernel (block-advanced responsibilities, disk cut, reduction basis) returns the
    sums of the same nodes evaluated with plain numpy and the generic integrand, to rounding
    (both sums carry the rounding bound ε(64 + 2√N)·Σ|w f| of rfisher.quadrature)."""
    mu = data.draw(S.points(d, K, 8.0))[None]
    nu = data.draw(S.points(d, J, 3.0))
    w, p = data.draw(S.weights(K)), data.draw(S.weights(J, 0.05))
    out, npts, ref = _raw(objective, mu, w, nu, p)
    assert npts[0] == ref.nodes[0]
    rounding = Q.EPS * (64 + 2 * np.sqrt(npts[0])) * Q.group_scale(ref.scale)
    assert np.all(np.abs(out[:, 0] - ref.value) <= 2 * rounding)


@pytest.mark.parametrize("gap", [40.0, 1e4])
def test_far_separations_are_finite_and_exact(gap):
    """Means 40 and 1e4 apart: no overflow or warning, and R = Σ w_i ||μ_i − μ*||², ∇_j R =
    2 w_j (μ_j − μ*) up to exp(−gap²/8)-small terms (each component sees only itself)."""
    student = GaussianMixture([[gap, 1.0], [0.0, -2.0], [-gap, 0.5]], [0.2, 0.3, 0.5])
    teacher = GaussianMixture.single([0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            res = reverse_fisher(student, teacher)
    diff = student.means - teacher.means[0]
    exact_value = float(student.weights @ np.sum(diff**2, axis=1))
    exact_grad = 2 * student.weights[:, None] * diff
    assert np.isfinite(res.value) and np.all(np.isfinite(res.gradient))
    assert_within(res.value, exact_value, res.value_error + 1e-12 * exact_value, "R")
    assert_within(res.gradient, exact_grad, res.gradient_error + 1e-12 * np.abs(exact_grad).max(), "grad R")


def test_overlapping_components_are_finite():
    student = GaussianMixture([[0.0], [1e-12]], [0.5, 0.5])
    res = reverse_fisher(student, GaussianMixture.single([1.0]))
    assert res.converged and np.isfinite(res.value)


def test_batch_equals_single_calls_bit_for_bit():
    rng = np.random.default_rng(3)
    mu = rng.normal(size=(6, 3, 2)) * 4
    w = np.array([0.2, 0.3, 0.5])
    nu = np.array([[0.0, 0.0], [1.0, 2.0]])
    batch = Q.integrate("reverse", mu, w, nu)
    for b in range(6):
        one = Q.integrate("reverse", mu[b:b + 1], w, nu)
        np.testing.assert_array_equal(batch.value[b], one.value[0])
        np.testing.assert_array_equal(batch.error[b], one.error[0])


def test_deterministic():
    rng = np.random.default_rng(4)
    mu = rng.normal(size=(5, 2, 1)) * 4
    a = Q.integrate("forward", mu, None, [[0.0], [2.0]])
    b = Q.integrate("forward", mu, None, [[0.0], [2.0]])
    np.testing.assert_array_equal(a.value, b.value)


def test_reduction_uses_one_axis_for_two_components_in_any_dimension():
    mu = np.array([[1.0, 2.0], [3.0, -1.0]])
    basis = np.empty((2, 2))
    rank = Q.basis_one(mu, np.zeros((1, 2)), False, basis)
    assert rank == 1
    u = (mu[0] - mu[1]) / np.linalg.norm(mu[0] - mu[1])
    np.testing.assert_allclose(np.abs(basis[:, 0]), np.abs(u))
    np.testing.assert_allclose(basis.T @ basis, np.eye(2), atol=1e-15)


def test_error_estimate_grows_when_the_grid_is_too_coarse():
    """The estimate is not a constant: force a coarse grid and it reports the larger error."""
    from rfisher.mixture import as_batch

    mu, w, nu, p = as_batch([[[3.0], [-1.0]]], None, [[0.0]], None)
    fine = Q.plan_grid("reverse", mu, w, nu, p, 1e-12)
    coarse = Q.plan_grid("reverse", mu, w, nu, p, 1e-12)
    coarse.steps = coarse.steps * 2.5
    coarse.counts = np.ceil(coarse.radius[:, None] / coarse.steps).astype(np.int64)
    errs = []
    for plan in (fine, coarse):
        out, npts = Q._run_kernel("reverse", mu, w, nu, p, plan)
        errs.append(Q._estimate(out, npts, Q.tail_bound("reverse", mu, w, nu, p, plan))[1][0, 0])
    assert errs[1] > 100 * errs[0]


@pytest.mark.parametrize("K,J,d", [(2, 1, 1), (3, 2, 2), (2, 1, 3)])
def test_monte_carlo_within_standard_error(K, J, d):
    rng = np.random.default_rng(K + J + d)
    mu = rng.normal(size=(3, K, d)) * 2
    nu = rng.normal(size=(J, d))
    mc = montecarlo.integrate("reverse", mu, None, nu, samples=2**14, seed=1)
    if d <= 2:
        exact = Q.integrate("reverse", mu, None, nu)
        assert_within(mc.value, exact.value, MC_SIGMAS * mc.stderr + exact.error, "MC vs quadrature")
    again = montecarlo.integrate("reverse", mu, None, nu, samples=2**14, seed=1)
    np.testing.assert_array_equal(mc.value, again.value)
    other = montecarlo.integrate("reverse", mu, None, nu, samples=2**14, seed=2)
    assert not np.array_equal(mc.value, other.value)


def test_generated_modules_cover_the_default_sizes():
    from derivations import codegen

    assert set(generated_modules.shipped_sizes()) == set(codegen.DEFAULT_SIZES)
