"""The per-basin candidate V_basin = Σ_i ||μ_i − ν_{j(i)}||² (rfisher/basin.py, derivations/basin.py;
docs/theory.md, "Per-basin candidate (mixture teacher)"). Hand formulas below are cross-checks of the
SymPy-derived code, not a second source of the formulas."""

from __future__ import annotations

import mpmath
import numpy as np

from rfisher import basin


def test_value_gradient_change_against_hand_formulas():
    rng = np.random.default_rng(1)
    K, d, B = 3, 2, 5
    teacher = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    means = teacher[rng.integers(0, 3, size=(B, K))] + rng.normal(size=(B, K, d))
    t = basin.assigned_means(means, teacher)
    # cross-check: nearest teacher mean by brute force
    for b in range(B):
        for i in range(K):
            assert np.array_equal(t[b, i], teacher[np.argmin(np.linalg.norm(teacher - means[b, i], axis=1))])
    mon = basin.monitor(K, d)
    hand_v = np.sum((means - t) ** 2, axis=(1, 2))
    np.testing.assert_allclose(mon.value(means, None, t), hand_v, rtol=1e-14)
    np.testing.assert_allclose(mon.gradient(means, None, t), 2 * (means - t), rtol=1e-14)
    g, eta = rng.normal(size=(B, K, d)), 0.3
    moved = np.sum((means - eta * g - t) ** 2, axis=(1, 2))
    np.testing.assert_allclose(mon.delta(means, None, t, g, eta), moved - hand_v, rtol=1e-12, atol=1e-13 * np.max(hand_v))


def test_trajectories_far_apart_never_increase_and_ascent_does():
    """Δ = 8, d = 1: V_basin never increases beyond the slack along reverse GD (measured in the report: every run
    at Δ ≥ 6); the same check on gradient ascent (η < 0 in effect: −ĝ) flags increases, so the check can fail."""
    r = basin.trajectory_check(2, 2, 1, 8.0, n=4, steps=40)
    assert np.all(r.increases == 0) and np.all(r.flow_violations == 0)
    mon = basin.monitor(2, 1)
    means = np.array([[[4.5], [-3.0]]])
    t = basin.assigned_means(means, np.array([[4.0], [-4.0]]))
    ascent = -2 * (means - t)  # a step along +∇V: the change is positive and far above any slack
    assert mon.delta(means, None, t, ascent, 0.1)[0] > 0.1


def test_separation_regime_search_and_confirmation():
    """A flow violation in the separation regime (Δ = 4, d = 1) found by the search is confirmed at 40 digits:
    ⟨∇V_basin, ∇R⟩ < 0 beyond the reference's bound (the student's stationary point is not exactly ν_{j(i)})."""
    s = basin.search(2, 2, 1, 4.0, n_random=100, refine_points=2, refine_iterations=10, seed=0)
    assert s.violated
    D, bound = basin.confirm(s)
    assert D + bound < 0 and abs(float(D) - s.D) <= s.slack + float(bound) + 1e-12 * abs(s.D)
    assert mpmath.mpf(s.worst_c) < 0
