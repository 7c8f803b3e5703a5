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

from rfisher import GaussianMixture, montecarlo, reverse_fisher
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
    """The lane sums of a pass cut short by max_nodes are cleared: the next parameter set of the batch
    gets, bit for bit, the value it gets alone (passes no longer clear the lanes before they start)."""
    w, teacher = [0.2, 0.3, 0.5], [[0.0, 0.0], [1.0, 2.0]]
    big = [[3.0, 1.0], [-1.0, 0.5], [0.2, -2.0]]
    small = [[0.5, 1.0], [0.4, 0.9], [0.6, 1.1]]
    alone = Q.integrate("reverse", np.array([small]), w, teacher, max_refine=0)
    limit = int(alone.nodes[0]) + 10
    assert Q.integrate("reverse", np.array([big]), w, teacher, max_refine=0).nodes[0] > limit
    both = Q.integrate("reverse", np.array([big, small]), w, teacher, max_refine=0, max_nodes=limit)
    assert not both.converged[0]
    assert both.value[1].tobytes() == alone.value[0].tobytes()


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


#: Step 6 of reverse GD, K = 3, d = 2, w ∝ (1, 1.5, 2), μ* = 0, η = 0.3, rtol 1e−10 (random_initializations(0, 1, 3,
#: 2, 3.0)): the first point of that run whose a priori plan misses the tolerance at the first pass.
GD_STEP_MEANS = np.array([[0.6633108998013517, -0.8960763498058717], [0.7925294302152681, 0.25028122842098194],
                          [-0.4085195423069815, 0.21711402613159675]])
#: The plan step 5 of that run handed on (inner and outer step factors, disk boost).
GD_STEP_PLAN = [0.86151474, 0.81483538, 0.0]


def test_a_trajectory_reuses_the_refinement_of_its_last_step():
    """A GD trajectory carries its plan (``integrate_one``; docs/theory.md, "Work limits"): at these means the
    a priori plan fails with no refinement allowed, the plan of the previous step meets the tolerance in one
    pass, its error still bounds the 40-digit reference, and the plan it hands on has grown by at most
    GROW_MAX and never past the a priori plan."""
    from rfisher import reference

    w = np.linspace(1, 2, 3) / np.linspace(1, 2, 3).sum()
    args = ("reverse", GD_STEP_MEANS[None], w[None], np.zeros((1, 1, 2)), np.ones((1, 1)))
    fresh = np.array([[1.0, 1.0, 0.0]])
    assert not Q.integrate_prepared(*args, rtol=1e-10, max_refine=0, plans=fresh).converged[0]
    plans = np.array([GD_STEP_PLAN])
    res = Q.integrate_prepared(*args, rtol=1e-10, max_refine=0, plans=plans)
    assert res.converged[0]
    ref = reference.reverse_fisher(GaussianMixture(GD_STEP_MEANS, w), GaussianMixture.single([0.0, 0.0])).as_floats()
    assert_within(res.value[0], np.concatenate([[ref[0]], ref[1].ravel()]), res.error[0])
    grown = plans[0, :2] / GD_STEP_PLAN[:2]
    assert np.all(grown >= 1.0) and np.all(grown <= Q.GROW_MAX * (1 + 1e-15)) and np.all(plans[0, :2] <= 1.0)
    assert np.any(grown > 1.0) and plans[0, 2] == 0.0


def test_the_plan_grows_only_after_success_and_never_past_the_a_priori_plan():
    """``next_plan`` and ``growth_factor``: no growth at or above the target, GROW_MAX far below it (or in
    rounding noise), growth in between falling as the estimate rises; a flagged result keeps its factors; the
    disk boost is dropped only when the tail would stay within its share without it."""
    g = [Q.growth_factor(e, 1e-10, 1.0, 1e-20) for e in (1e-18, 1e-13, 1e-11, 9e-11, 1e-10, 1e-9)]
    assert g[0] == Q.GROW_MAX and g[-1] == 1.0 and g[-2] == 1.0
    assert all(1.0 <= a <= Q.GROW_MAX for a in g) and all(a >= b for a, b in zip(g, g[1:], strict=False))
    assert 1.0 < g[3] < Q.GROW_MAX
    assert Q.growth_factor(1e-19, 1e-10, 1.0, 1e-19) == Q.GROW_MAX  # rounding noise: no information, grow
    plan = np.zeros(3)
    Q.next_plan(plan, True, 0.5, 0.98, 8.0, Q.GROW_MAX, Q.GROW_MAX, 0.0)
    assert plan[0] == 0.5 * Q.GROW_MAX and plan[1] == 1.0 and plan[2] == 0.0
    Q.next_plan(plan, False, 0.5, 0.6, 8.0, Q.GROW_MAX, Q.GROW_MAX, 0.0)
    assert list(plan) == [0.5, 0.6, 8.0]
    Q.next_plan(plan, True, 0.5, 0.6, 8.0, 1.0, 1.0, Q.TAIL_SHARE / 10)
    assert list(plan) == [0.5, 0.6, 8.0]
