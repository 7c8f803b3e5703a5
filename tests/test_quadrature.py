"""The quadrature rule: its pieces (the exponential, the reduction), stability at any separation,
determinism (any batch, any process), the error estimate reacting to the tolerance, the work limit,
and the Monte Carlo rule within its standard error."""

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from rfisher import GaussianMixture, montecarlo, planning, reverse_fisher
from rfisher import quadrature as Q
from rfisher.lines import EXP_ULPS, exp_nonpositive
from rfisher.planning import REFINE_AIM, refine_factor
from rfisher.reduction import basis_one
from tests.tolerances import MC_SIGMAS, assert_within

ROOT = Path(__file__).resolve().parents[1]


def test_exponential_is_accurate_to_its_stated_ulps():
    """exp_nonpositive (the vectorised exponential of rfisher.lines) against math.exp, on [−708, 0]
    and at its edges: relative error ≤ EXP_ULPS·ε; 0 below the floor."""
    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.random(20000) * 708, -rng.random(2000) * 1e-6, [0.0, -1e-300, -707.99, -708.0],
                        -np.logspace(-15, 2.85, 2000)])
    y = x.copy()[None, :]
    bits = np.empty(len(x), dtype=np.int64)
    exp_nonpositive(y, 0, bits, bits.view(np.float64), len(x))
    y = y[0]
    exact = np.array([math.exp(v) for v in x])
    rel = np.abs(y - exact) / exact
    assert rel.max() <= EXP_ULPS * np.finfo(float).eps, rel.max()
    z = np.array([[-708.5, -800.0, -1e300]])
    exp_nonpositive(z, 0, bits, bits.view(np.float64), 3)
    assert np.all(z == 0.0)


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
    shuffled = Q.integrate("reverse", mu[::-1].copy(), w, nu)
    np.testing.assert_array_equal(shuffled.value[::-1], batch.value)


def test_same_numbers_in_a_fresh_process():
    code = ("import numpy as np; from rfisher import quadrature as Q; "
            "r = Q.integrate('reverse', np.array([[[3.0, 1.0], [-1.0, 0.5], [0.2, -2.0]]]), [0.2, 0.3, 0.5], "
            "[[0.0, 0.0], [1.0, 2.0]]); print(r.value.tobytes().hex())")
    outs = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    here = Q.integrate("reverse", np.array([[[3.0, 1.0], [-1.0, 0.5], [0.2, -2.0]]]), [0.2, 0.3, 0.5],
                       [[0.0, 0.0], [1.0, 2.0]])
    assert outs == {here.value.tobytes().hex() + "\n"}


def test_reduction_uses_one_axis_for_two_components_in_any_dimension():
    mu = np.array([[1.0, 2.0], [3.0, -1.0]])
    basis = np.empty((2, 2))
    rank = basis_one(mu, np.zeros((1, 2)), False, basis, np.empty((mu.shape[0], 2)), np.empty(2))
    assert rank == 1
    u = (mu[0] - mu[1]) / np.linalg.norm(mu[0] - mu[1])
    np.testing.assert_allclose(np.abs(basis[:, 0]), np.abs(u))
    np.testing.assert_allclose(basis.T @ basis, np.eye(2), atol=1e-15)


def test_error_estimate_follows_the_tolerance():
    """The estimate is computed, not a constant: a loose tolerance plans fewer nodes and reports a larger
    error, and both runs agree within the sum of their bounds."""
    mu = np.array([[[3.0, 1.0], [-1.0, 0.5], [0.2, -2.0]]])
    loose = Q.integrate("reverse", mu, [0.2, 0.3, 0.5], [[0.0, 0.0], [1.0, 2.0]], rtol=1e-4)
    tight = Q.integrate("reverse", mu, [0.2, 0.3, 0.5], [[0.0, 0.0], [1.0, 2.0]], rtol=1e-12)
    assert loose.nodes[0] < tight.nodes[0] and loose.error[0, 0] > 100 * tight.error[0, 0]
    assert_within(loose.value, tight.value, loose.error + tight.error)


def test_work_limit_flags_instead_of_running_on():
    """A parameter set that needs more nodes than max_nodes is flagged (converged False, value NaN)."""
    res = Q.integrate("reverse", np.array([[[3.0, 1.0], [-1.0, 0.5], [0.2, -2.0]]]), [0.2, 0.3, 0.5],
                      [[0.0, 0.0], [1.0, 2.0]], max_nodes=100)
    assert not res.converged[0] and np.isnan(res.value[0]).all()


@pytest.mark.parametrize("K,J,d", [(2, 1, 1), (3, 2, 2), (2, 1, 3)])
def test_monte_carlo_within_standard_error(K, J, d):
    rng = np.random.default_rng(K + J + d)
    mu = rng.normal(size=(3, K, d)) * 2
    nu = rng.normal(size=(J, d))
    mc = montecarlo.integrate("reverse", mu, None, nu, samples=2**14, seed=1)
    exact = Q.integrate("reverse", mu, None, nu)
    assert_within(mc.value, exact.value, MC_SIGMAS * mc.stderr + exact.error, "MC vs quadrature")
    again = montecarlo.integrate("reverse", mu, None, nu, samples=2**14, seed=1)
    np.testing.assert_array_equal(mc.value, again.value)
    other = montecarlo.integrate("reverse", mu, None, nu, samples=2**14, seed=2)
    assert not np.array_equal(mc.value, other.value)


def test_generated_modules_cover_the_default_sizes():
    from derivations import codegen
    from rfisher import generated_modules

    assert set(generated_modules.shipped_sizes()) == set(codegen.DEFAULT_SIZES)


def _transition_rule(h, gamma, at):
    """Trapezoid rule of step h for E_{t~N(0,1)}[1/(1 + exp(γ(t − at)))] and its halving estimate
    |T_h − T_2h| (the rule on the even nodes), with the scale h Σ|g|."""
    n = round(14 / h)
    t = np.arange(-n, n + 1) * h
    g = np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi) / (1 + np.exp(gamma * (t - at)))
    even = g[::2] if n % 2 == 0 else g[1::2]
    return abs(h * g.sum() - 2 * h * even.sum()), h * np.abs(g).sum()


@pytest.mark.parametrize("gamma,h,target", [(4.0, 0.1, 1e-12), (8.0, 0.07, 1e-10), (8.0, 0.05, 1e-13),
                                            (12.0, 0.05, 1e-11)])
@pytest.mark.parametrize("at", [0.7, 2.5])
def test_refine_factor_reaches_its_target_on_a_transition(gamma, h, target, at):
    """One refinement by the factor of the error model (rfisher.planning.refine_factor, aiming at
    REFINE_AIM of the target as the quadrature does) brings the halving estimate of a trapezoid rule below
    its target, for a Gaussian times a logistic transition of slope γ (poles π/γ from the real axis, like
    a responsibility), near the centre (at = 0.7) or carrying ~1/50 of the mass (at = 2.5)."""
    est, scale = _transition_rule(h, gamma, at)
    if est <= target:
        pytest.skip("already within the target")
    factor = refine_factor(est, REFINE_AIM * target, scale)
    assert factor < 1
    after, _ = _transition_rule(h * factor, gamma, at)
    assert after <= target


def test_a_pass_cut_by_the_work_limit_leaves_nothing_behind():
    """The lane sums and the pending chunk's estimate bookkeeping (live rows, runs of outer lines) of a pass
    cut short by max_nodes are cleared: the next parameter set of the batch gets, bit for bit, the value
    and the error it gets alone (the second, trapezoid, set's error differed before the bookkeeping was
    cleared)."""
    w, teacher = [0.2, 0.3, 0.5], [[0.0, 0.0], [1.0, 2.0]]
    big = [[3.0, 1.0], [-1.0, 0.5], [0.2, -2.0]]
    for small in ([[0.5, 1.0], [0.4, 0.9], [0.6, 1.1]], [[1.5, 1.0], [-0.5, 0.3], [0.2, -1.0]]):
        alone = Q.integrate("reverse", np.array([small]), w, teacher, max_refine=0)
        limit = int(alone.nodes[0]) + 10
        assert Q.integrate("reverse", np.array([big]), w, teacher, max_refine=0).nodes[0] > limit
        both = Q.integrate("reverse", np.array([big, small]), w, teacher, max_refine=0, max_nodes=limit)
        assert not both.converged[0]
        assert both.value[1].tobytes() == alone.value[0].tobytes()
        assert both.error[1].tobytes() == alone.error[0].tobytes()


def test_refinement_stops_at_the_rounding_floor():
    """Near student = teacher at rtol = 1e−12 the rounding bound of R alone exceeds the allowance: no
    refinement can help, so none is made (same nodes with max_refine 0 and 4), the set is flagged, and
    its error still bounds the true error (40-digit reference)."""
    from rfisher import reference

    mu = np.array([[[0.21496374], [-0.11215433], [-0.02211082]]])
    w = np.linspace(1, 2, 3) / np.linspace(1, 2, 3).sum()
    r0 = Q.integrate("reverse", mu, w, [[0.0]], rtol=1e-12, max_refine=0)
    r4 = Q.integrate("reverse", mu, w, [[0.0]], rtol=1e-12, max_refine=4)
    assert not r4.converged[0] and r4.nodes[0] == r0.nodes[0]
    ref = reference.reverse_fisher(GaussianMixture(mu[0], w), GaussianMixture.single([0.0])).as_floats()
    assert_within(r4.value[0, 0], ref[0], r4.error[0, 0])


@pytest.mark.parametrize("rtol", [1e-12, 1e-10, 1e-8])
def test_gauss_hermite_is_tried_where_it_meets_the_tolerance(rtol):
    """The Gauss–Hermite pair is tried from pole distance gh_pole(rtol) on (docs/theory.md, "Quadrature"),
    and just beyond it the pair does meet the tolerance (2 components × 16 nodes); just before, the
    trapezoid rule is used."""
    w = [1 / 3, 2 / 3]
    for factor, hermite in ((1.05, True), (0.95, False)):
        sep = math.pi / (factor * Q.gh_pole(rtol))
        res = Q.integrate("reverse", np.array([[[sep / 3], [-2 * sep / 3]]]), w, [[0.0]], rtol=rtol)
        assert res.converged[0]
        assert (res.nodes[0] == 2 * Q.GH_POINTS) == hermite, (factor, res.nodes[0])


def test_a_trajectory_reuses_the_refinement_of_its_last_step():
    """A GD trajectory carries its plan (``integrate_one``; docs/theory.md, "Work limits"): for K = 3, J = 2,
    d = 1 at rtol 1e−10, a plan at PLAN_MAX fails with no refinement allowed; with refinements it converges
    and hands on the refined plan, from which the next evaluation meets the tolerance in one pass, its error
    still bounding the 40-digit reference, and hands on a plan grown by at most GROW_MAX."""
    from rfisher import reference

    mu, w = np.array([[-1.3], [2.1], [0.4]]), np.array([0.2, 0.5, 0.3])
    nu, pi = np.array([[-2.0], [1.5]]), np.array([0.4, 0.6])
    mc, nc = Q.centered(mu[None], nu[None], pi[None])
    args = ("reverse", mc, w[None], nc, pi[None])
    coarse = np.array([[Q.PLAN_MAX, 1.0, 0.0]])
    assert not Q.integrate_prepared(*args, rtol=1e-10, max_refine=0, plans=coarse.copy()).converged[0]
    plans = coarse.copy()
    assert Q.integrate_prepared(*args, rtol=1e-10, max_refine=4, plans=plans).converged[0]
    handed = plans[0].copy()
    assert handed[0] < Q.PLAN_MAX
    res = Q.integrate_prepared(*args, rtol=1e-10, max_refine=0, plans=plans)
    assert res.converged[0]
    ref = reference.reverse_fisher(GaussianMixture(mu, w), GaussianMixture(nu, pi)).as_floats()
    assert_within(res.value[0], np.concatenate([[ref[0]], ref[1].ravel()]), res.error[0])
    grown = plans[0, :2] / handed[:2]
    assert np.all(grown >= 1.0) and np.all(grown <= Q.GROW_MAX * (1 + 1e-15)) and np.all(plans[0, :2] <= Q.PLAN_MAX)
    assert np.any(grown > 1.0)


def test_the_plan_grows_only_after_success_and_never_past_plan_max():
    """``next_plan`` and ``growth_factor``: no growth at or above the target, GROW_MAX far below it (or in
    rounding noise), growth in between falling as the estimate rises; a flagged result keeps its factors; the
    disk boost is dropped only when the tail would stay within its share without it."""
    g = [Q.growth_factor(e, 1e-10, 1.0, 1e-20) for e in (1e-18, 1e-13, 1e-11, 9e-11, 1e-10, 1e-9)]
    assert g[0] == Q.GROW_MAX and g[-1] == 1.0 and g[-2] == 1.0
    assert all(1.0 <= a <= Q.GROW_MAX for a in g) and all(a >= b for a, b in zip(g, g[1:], strict=False))
    assert 1.0 < g[3] < Q.GROW_MAX
    assert Q.growth_factor(1e-19, 1e-10, 1.0, 1e-19) == Q.GROW_MAX  # rounding noise: no information, grow
    plan = np.zeros(3)
    Q.next_plan(plan, True, 0.5, 0.98 * Q.PLAN_MAX, 8.0, Q.GROW_MAX, Q.GROW_MAX, 0.0)
    assert plan[0] == 0.5 * Q.GROW_MAX and plan[1] == Q.PLAN_MAX and plan[2] == 0.0
    Q.next_plan(plan, False, 0.5, 0.6, 8.0, Q.GROW_MAX, Q.GROW_MAX, 0.0)
    assert list(plan) == [0.5, 0.6, 8.0]
    Q.next_plan(plan, True, 0.5, 0.6, 8.0, 1.0, 1.0, Q.TAIL_SHARE / 10)
    assert list(plan) == [0.5, 0.6, 8.0]


def test_the_strip_width_bounds_the_nearest_zero_of_the_softmax_denominator():
    """``strip_width`` (docs/theory.md, "Error bounds"): Σ_k c_k e^{G_k t}, c_k > 0, has no zero for |Im t| <
    π/(G_max − G_min), and the bound is sharp. Slopes (0, 1, 3) along u: with c = (1, 1e−12, 1) the
    denominator is nearly 1 + e^{3t}, whose zero sits at Im t = π/3 (to 1e−12); the smallest pairwise
    spread (1) would claim a strip of π, past that zero."""
    G = np.array([0.0, 1.0, 3.0])
    a = planning.strip_width(G.max() - G.min())
    assert a == pytest.approx(math.pi / 3, rel=1e-15)
    c = np.array([1.0, 1e-12, 1.0])
    zero = 1j * math.pi / 3  # of 1 + e^{3t}
    assert abs(np.sum(c * np.exp(G * zero))) < 1e-11
    rng = np.random.default_rng(0)
    for _ in range(200):  # inside the strip the sum stays away from 0, for any positive weights
        c = rng.uniform(0.01, 1.0, 3)
        t = rng.uniform(-5, 5) + 1j * rng.uniform(-0.999, 0.999) * a
        terms = c * np.exp(G * t)
        assert abs(np.sum(terms)) > 1e-6 * np.sum(np.abs(terms))
    assert planning.strip_width(0.0) == math.inf  # equal slopes: no pole


def test_the_strip_ratio_is_the_larger_of_the_pole_and_the_gaussian_decay():
    """``strip_ratio``: ρ(h) = max(e^(−πa/h), e^(−3π²/(2h²))), increasing in h, the Gaussian term alone for an
    entire integrand (a = inf)."""
    assert planning.strip_ratio(0.3, 0.1) == pytest.approx(math.exp(-math.pi * 3), rel=1e-15)
    assert planning.strip_ratio(math.inf, 0.5) == pytest.approx(math.exp(-1.5 * math.pi**2 / 0.25), rel=1e-15)
    assert planning.strip_ratio(50.0, 0.5) == planning.strip_ratio(math.inf, 0.5)
    hs = np.linspace(0.05, 2.0, 40)
    r = [planning.strip_ratio(0.4, h) for h in hs]
    assert all(x < y for x, y in zip(r, r[1:], strict=False))


def test_the_guard_is_dropped_only_where_the_plan_bounds_the_poles():
    """``line_factors``: ρ₁ = M ρ(h); the guard ρ₂ = ρ₁ ρ(2h) is dropped only when the 4h rule would measure
    the Gaussian alone (h > h_limit) and the step is within the planned pole step (h ≤ h_pole); (1, 0) where
    M ρ(h) ≥ 1."""
    M = planning.ESTIMATE_MARGIN
    spread, h_limit = 4.0, 0.2
    for h, h_pole, guarded in ((0.1, 0.3, True), (0.3, 0.4, False), (0.3, 0.25, True), (0.3, math.inf, False)):
        r1, r2 = Q.line_factors(spread, h, h_pole, h_limit)
        assert r1 == M * planning.strip_ratio(math.pi / spread, h)
        assert r2 == (r1 * planning.strip_ratio(math.pi / spread, 2 * h) if guarded else 0.0)
    assert Q.line_factors(0.0, 0.3, 0.4, h_limit)[0] == M * planning.strip_ratio(math.inf, 0.3)
    # a step that does not resolve the strip (M ρ(h) ≥ 1): the difference itself, unguarded
    assert M * planning.strip_ratio(math.pi / 20.0, 0.3) > 1.0
    assert Q.line_factors(20.0, 0.3, 0.25, h_limit) == (1.0, 0.0)


def test_the_strip_estimate_bounds_the_reference_as_the_steps_grow():
    """The inner estimate against the 40-digit reference (K = 3, J = 2, d = 1, one pass) with the a priori step
    times 1 to 4: from converged through pre-asymptotic, the error still bounds the true error (measured:
    the largest ratio is 0.031; with M = 1 it is 2.1, so a margin or ratio that is too small fails here)."""
    from rfisher import reference

    mu, w = np.array([[-1.3], [2.1], [0.4]]), np.array([0.2, 0.5, 0.3])
    nu, pi = np.array([[-2.0], [1.5]]), np.array([0.4, 0.6])
    ref = reference.reverse_fisher(GaussianMixture(mu, w), GaussianMixture(nu, pi)).as_floats()
    exact = np.concatenate([[ref[0]], ref[1].ravel()])
    mc, nc = Q.centered(mu[None], nu[None], pi[None])
    converged = []
    for f in np.linspace(1.0, 4.0, 16):
        res = Q.integrate_prepared("reverse", mc, w[None], nc, pi[None], rtol=1e-10, max_refine=0,
                                   plans=np.array([[f, 1.0, 0.0]]))
        assert np.all(np.abs(res.value[0] - exact) <= res.error[0]), f
        converged.append(res.converged[0])
    assert converged[0] and not converged[-1]
