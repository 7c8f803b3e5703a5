"""KL(q‖p) and KL(p‖q) with their gradients (rfisher/kl.py, derivations/kl.py; docs/theory.md,
"KL candidates"): against 30-digit mpmath integrals of the definitions, the two gradient forms against
each other, d = 2 against the exact rotation to d = 1, and the falsifier interface."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from rfisher import kl
from tests.tolerances import assert_within

DPS = 30
#: The mpmath integrals are asked for DPS digits; their error is far below this bound, which is
#: negligible against the float rule's own estimate.
REF_BOUND = 1e-25


def reference(kind, means, w, nu, pi, dps=DPS):
    """The definitions at ``dps`` digits (``rfisher.kl.reference_1d``: mpmath quadrature of ∫ q log(q/p), its
    derivative under the integral sign; no log-sum-exp, no quadrature rule of rfisher.kl) as floats."""
    value, grad = kl.reference_1d(kind, means, w, nu, pi, dps=dps)
    return float(value), np.array([float(g) for g in grad])


POINTS = [
    ([-0.7, 1.3], [0.3, 0.7], [0.0], [1.0]),
    ([0.02, -0.01], [0.5, 0.5], [0.0], [1.0]),
    ([3.0, 0.5, -2.0], [0.2, 0.3, 0.5], [0.0], [1.0]),
    ([4.0, -1.0], [0.6, 0.4], [-3.0, 3.0], [0.5, 0.5]),  # a mixture teacher
]


def agrees(res, ref_value, ref_grad, gradient=None):
    g = res.gradient[0, :, 0] if gradient is None else gradient
    return (abs(res.value[0] - ref_value) <= res.value_error[0] + REF_BOUND
            and np.all(np.abs(g - ref_grad) <= res.gradient_error[0, :, 0] + REF_BOUND))


@pytest.mark.parametrize("kind", ["reverse", "forward"])
@pytest.mark.parametrize("point", POINTS)
def test_against_mpmath(kind, point):
    means, w, nu, pi = point
    res = kl.kl(kind, np.array(means)[None, :, None], w, np.array(nu)[:, None], pi)
    ref_value, ref_grad = reference(kind, means, w, nu, pi)
    assert_within(res.value[0], ref_value, res.value_error[0] + REF_BOUND, f"{kind} KL")
    assert_within(res.gradient[0, :, 0], ref_grad, res.gradient_error[0, :, 0] + REF_BOUND, f"∇ {kind} KL")
    # the estimate is useful, not only conservative: a gradient of the wrong sign is told apart
    assert not agrees(res, ref_value, ref_grad, gradient=-res.gradient[0, :, 0])
    assert res.converged[0]


def test_reference_gradient_is_the_derivative():
    """The reference's differentiation under the integral sign against mpmath.diff of its value (one point)."""
    means, w, nu, pi = POINTS[0]
    _, grad = reference("reverse", means, w, nu, pi)
    with mpmath.workdps(DPS):
        def value(m0):
            return mpmath.mpf(reference("reverse", [float(m0), means[1]], w, nu, pi, dps=DPS + 10)[0])
        slope = mpmath.diff(value, mpmath.mpf(means[0]), h=mpmath.mpf("1e-6"))
    assert abs(float(slope) - grad[0]) < 1e-9  # central difference with h = 1e−6 on a double-valued function


@pytest.mark.parametrize("d", [1, 2])
def test_reparametrised_against_score_form(d):
    rng = np.random.default_rng(3)
    means = rng.normal(scale=1.5, size=(3, 3, d))
    w = np.array([0.2, 0.3, 0.5])
    a = kl.kl("reverse", means, w, np.zeros((1, d)))
    b = kl.kl("reverse", means, w, np.zeros((1, d)), gradient_form="score")
    assert_within(a.gradient, b.gradient, a.gradient_error + b.gradient_error, "reparametrised vs score form")
    assert_within(a.value, b.value, a.value_error + b.value_error, "value under both forms")
    assert np.max(np.abs(a.gradient)) > 1e3 * np.max(a.gradient_error + b.gradient_error)  # not trivially zero


@pytest.mark.parametrize("kind", ["reverse", "forward"])
def test_d2_collinear_is_the_d1_reference(kind):
    """Rotation invariance: collinear means in d = 2, along a direction u, have the d = 1 KL; ∇ is along u."""
    means1, w, nu1, pi = [1.1, -0.4, 2.5], [0.3, 0.3, 0.4], [0.5], [1.0]
    u = np.array([0.6, 0.8])
    means2 = np.array(means1)[:, None] * u
    nu2 = np.array(nu1)[:, None] * u
    res = kl.kl(kind, means2[None], w, nu2, pi)
    ref_value, ref_grad = reference(kind, means1, w, nu1, pi)
    assert_within(res.value[0], ref_value, res.value_error[0] + REF_BOUND, f"{kind} KL, d = 2")
    assert_within(res.gradient[0], ref_grad[:, None] * u, res.gradient_error[0] + REF_BOUND, f"∇ {kind} KL, d = 2")


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="kind"):
        kl.kl("sideways", np.zeros((1, 2, 1)), [0.5, 0.5], np.zeros((1, 1)))
    with pytest.raises(ValueError, match="gradient_form"):
        kl.kl("reverse", np.zeros((1, 2, 1)), [0.5, 0.5], np.zeros((1, 1)), gradient_form="finite differences")
    with pytest.raises(ValueError, match="means"):
        kl.kl("reverse", np.full((1, 2, 1), np.nan), [0.5, 0.5], np.zeros((1, 1)))


def test_falsifier_accepts_the_candidates():
    """The KL candidates resolve to monitors with ∇V and its error bound, and the falsifier runs on them;
    at a point where ∇KL(q‖p) and ∇R are measured, the normalised derivative is a cosine in [−1, 1]."""
    from rfisher import falsifier, lyapunov

    for cand in (kl.KL_REVERSE, kl.KL_FORWARD):
        mon = lyapunov.resolve(cand, 2, 1)
        means = np.array([[[0.5], [-1.0]]])
        w = np.array([[0.4, 0.6]])
        g = mon.gradient(means, w, np.zeros(1))
        e = mon.gradient_error(means, w, np.zeros(1))
        assert g.shape == (1, 2, 1) and np.all(e < 1e-9 * np.max(np.abs(g)))
        res = falsifier.falsify(cand, 3, K_range=(2, 2), d_range=(1, 1), refine_points=1, refine_iterations=2,
                                confirm_violations=False)
        assert -1 <= res.flow.worst_evaluation.normalised <= 1


def test_derivation_identities(monkeypatch):
    """derivations/kl.py checks its identities by SymPy on the raw log-densities; a wrong form fails the check."""
    from derivations import kl as D

    D.verify(2, 1, 1)
    D.verify(2, 2, 2)
    right = D.x_gradient
    monkeypatch.setattr(D, "x_gradient", lambda ms: [-c for c in right(ms)])
    with pytest.raises(AssertionError):
        D.verify(2, 1, 1)


def test_one_step_is_refused_with_a_clear_error():
    from rfisher import falsifier

    with pytest.raises(ValueError, match="one-step"):
        falsifier.falsify(kl.KL_REVERSE, 2, eta=0.1, K_range=(2, 2), d_range=(1, 1), refine_points=1,
                          refine_iterations=1, confirm_violations=False)


def test_confirm_flow_at_a_point():
    """The 40-digit flow number agrees with the float one within the float slack (d = 1, K = 2)."""
    from rfisher import falsifier

    means, w = np.array([[[0.4], [-1.3]]]), np.array([[0.3, 0.7]])
    cand = falsifier._Candidate(kl.KL_REVERSE)
    ev = falsifier._evaluate(cand, means, w, None, falsifier.reverse_gradient)
    D, bound, c = kl.confirm_flow("reverse", means[0, :, 0], w[0])
    assert abs(float(D) - ev["D"][0]) <= ev["D_slack"][0] + float(bound)
    assert abs(float(c) - ev["c_flow"][0]) <= 1e-8 and ev["D"][0] > 0
