"""The batched GD runner: the reference behaviour of docs/theory.md (C2), determinism, stopping, divergence flags."""

import numpy as np
import pytest

from rfisher import GaussianMixture
from rfisher.descent import DIVERGED, GRAD_TOL, MAX_STEPS, PARAM_TOL, gradient_descent, random_initializations
from rfisher.lyapunov import UserCandidate

TEACHER = GaussianMixture.single([0.0])
STARTS = np.array([[[3.0], [-1.0]], [[10.0], [0.5]], [[20.0], [1.0]]])


def test_reference_table():
    """docs/theory.md, C2 (d = 1, μ* = 0, w = ½, η = 0.2, 2000 steps): reverse GD ends at ≈ (0.025, −0.025)
    from every start; forward GD ends at ≈ (8.35, 0.0008), (10.02, 0.00003), (20.0, 0.0).
    The table's first numbers came from a 120-node Gauss–Hermite script: the shape, to ~1e−2, not digits."""
    rev = gradient_descent(STARTS, [0.5, 0.5], TEACHER, step_size=0.2, max_steps=2000, record_every=500)
    np.testing.assert_allclose(np.sort(rev.final_means[..., 0], axis=1), [[-0.025, 0.025]] * 3, atol=2e-4)
    fwd = gradient_descent(STARTS, [0.5, 0.5], TEACHER, step_size=0.2, max_steps=2000, record_every=500,
                           objective="forward")
    np.testing.assert_allclose(fwd.final_means[..., 0], [[8.35, 0.0008], [10.02, 0.00003], [20.0, 0.0]], atol=1e-2)
    assert np.all(rev.status == MAX_STEPS) and np.all(fwd.status == MAX_STEPS)


def test_deterministic_and_batch_independent():
    init = random_initializations(3, 5, 3, 2, 10.0)
    w = [0.2, 0.3, 0.5]
    teacher = GaussianMixture.single([0.5, -0.5])
    a = gradient_descent(init, w, teacher, step_size=0.3, max_steps=40, monitors=["V_w"])
    b = gradient_descent(init, w, teacher, step_size=0.3, max_steps=40, monitors=["V_w"])
    np.testing.assert_array_equal(a.means, b.means)
    np.testing.assert_array_equal(a.monitors["V_w"], b.monitors["V_w"])
    one = gradient_descent(init[2], w, teacher, step_size=0.3, max_steps=40)
    np.testing.assert_array_equal(one.means[:, 0], a.means[:, 2])


def test_random_initializations_are_seeded():
    np.testing.assert_array_equal(random_initializations(1, 4, 3, 2, 5.0), random_initializations(1, 4, 3, 2, 5.0))
    pts = random_initializations(1, 1000, 2, 3, 5.0, coincide=0.5)
    assert np.all(np.linalg.norm(pts, axis=-1) <= 5.0)
    assert np.mean(np.all(pts[:, 0] == pts[:, 1], axis=-1)) > 0.3


def test_stopping_rules():
    tr = gradient_descent(STARTS[:1], [0.5, 0.5], TEACHER, step_size=0.2, max_steps=5000, grad_tol=1e-3)
    assert tr.status[0] == GRAD_TOL and tr.steps[0] < 5000
    assert tr.grad_norms[-1, 0] <= 1e-3
    tr = gradient_descent(STARTS[:1], [0.5, 0.5], TEACHER, step_size=0.2, max_steps=5000, param_tol=1e-4)
    assert tr.status[0] == PARAM_TOL
    tr = gradient_descent(STARTS, [0.5, 0.5], TEACHER, step_size=0.2, max_steps=0)
    assert np.all(tr.steps == 0) and np.all(tr.status == MAX_STEPS)


def test_divergence_is_flagged_and_others_go_on():
    """η = 3 overshoots: |μ − μ*| grows by |1 − 2η w| = 2 per step for a lone far component; the
    objective passes the stated factor and that trajectory stops, flagged with its step."""
    starts = np.array([[[3.0], [-1.0]], [[30.0], [30.0]]])
    w = [0.5, 0.5]
    bad = gradient_descent(starts, w, TEACHER, step_size=3.0, max_steps=100, divergence_factor=1e3, escape_radius=1e5)
    assert np.all(bad.status == DIVERGED)
    assert np.all(bad.diverged_at > 0) and all(r for r in bad.divergence_reason)
    assert np.all(np.isfinite(bad.final_means))
    mixed = gradient_descent(starts, np.array([[0.5, 0.5], [0.5, 0.5]]), TEACHER, step_size=0.2, max_steps=50)
    assert not mixed.diverged.any()


def test_records_have_the_stride_and_bounded_size():
    tr = gradient_descent(STARTS, [0.5, 0.5], TEACHER, step_size=0.2, max_steps=95, record_every=10,
                          record_means=False, monitors=["V_w", "R"])
    assert tr.means is None
    np.testing.assert_array_equal(tr.record_steps, list(range(0, 100, 10)) + [95])
    assert tr.values.shape == (11, 3) and tr.monitors["V_w"].shape == (11, 3)


def test_monitored_changes_match_recorded_values():
    """The exact one-step change of each candidate equals the difference of its recorded values,
    and the user candidate is monitored like the built-in ones."""
    quartic = UserCandidate("V_4", lambda ms: sum(ms.w[i] * sum((m - t) ** 4 for m, t in zip(ms.mu[i], ms.target))
                                                  for i in range(ms.K)))
    tr = gradient_descent(STARTS, [0.5, 0.5], TEACHER, step_size=0.2, max_steps=30,
                          monitors=["V_w", "V_max", "V_bar", quartic, "R", "U"])
    for name in ("V_w", "V_max", "V_bar", "V_4", "R", "U"):
        diffs = np.diff(tr.monitors[name], axis=0)  # (T − 1, B): V(θ_{t+1}) − V(θ_t), every step recorded
        # the largest closed-form change over the run equals the largest difference of recorded values, to
        # rounding (a wrong one-step formula, even one of the right sign, gives a different number)
        scale = np.abs(tr.monitors[name]).max(axis=0)
        assert np.all(np.abs(diffs.max(axis=0) - tr.max_increase[name]) <= 1e-13 * scale + 1e-300), name
    v4 = np.sum(0.5 * (tr.means[..., 0] - 0.0) ** 4, axis=-1)
    np.testing.assert_allclose(tr.monitors["V_4"], v4, rtol=1e-13)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"step_size": 0.0}, "step_size"),
        ({"step_size": float("nan")}, "step_size"),
        ({"max_steps": -1}, "max_steps"),
        ({"max_steps": 2.5}, "max_steps"),
        ({"record_every": 0}, "record_every"),
        ({"grad_tol": -1.0}, "grad_tol"),
        ({"objective": "sideways"}, "objective"),
        ({"monitors": ["V_nope"]}, "unknown Lyapunov candidate"),
        ({"monitors": ["V_w", "V_w"]}, "given twice"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"step_size": 0.2, "max_steps": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        gradient_descent(STARTS, [0.5, 0.5], TEACHER, **args)


def test_bad_initializations():
    with pytest.raises(ValueError, match="finite"):
        gradient_descent(np.full((1, 2, 1), np.nan), [0.5, 0.5], TEACHER, step_size=0.2, max_steps=3)
    with pytest.raises(ValueError, match="dimension"):
        gradient_descent(STARTS, [0.5, 0.5], GaussianMixture.single([0.0, 0.0]), step_size=0.2, max_steps=3)
    with pytest.raises(ValueError, match="candidate 'bad' uses symbols"):
        import sympy as sp

        gradient_descent(STARTS, [0.5, 0.5], TEACHER, step_size=0.2, max_steps=3,
                         monitors=[UserCandidate("bad", lambda ms: sp.Symbol("zzz") * ms.mu[0][0])])
