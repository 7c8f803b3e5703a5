"""Counterexample search for Lyapunov candidates: can one GD step on R increase V?

A configuration is (means (K, d), weights, target μ*, step size η) with K ≤ 4, d ≤ 3, weights
≥ 0.05, means within radius 30 of μ* (drawn anywhere in the ball, within 0.5 of μ*, or on μ*),
and η in [ETA_MIN, ETA_MAX]. For it, ``one_step`` takes
one GD step on R (single-Gaussian teacher N(μ*, I)) with the quadrature gradient ĝ and returns
the exact change ΔV of the candidate along that step, and the slack within which the change of
the *exact* GD step may differ (the gradient's error bound and rounding; see
``rfisher.lyapunov.change_slack``). An increase is ΔV > slack.

``configurations`` is the hypothesis strategy over those configurations (tests/test_lyapunov.py);
the search for violations is ``rfisher.falsifier.falsify``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rfisher import lyapunov
from rfisher.mixture import as_batch
from rfisher.quadrature import centered, integrate_prepared

ETA_MIN, ETA_MAX = 0.01, 0.3
MAX_K, MAX_D, RADIUS, MIN_WEIGHT = 4, 3, 30.0, 0.05
RTOL = 1e-9


@dataclass(frozen=True)
class StepConfig:
    means: tuple  # K × d nested tuples (hashable, printable, pinnable in a test)
    weights: tuple
    target: tuple
    eta: float

    def arrays(self):
        return np.array(self.means, dtype=float), np.array(self.weights, dtype=float), np.array(self.target, dtype=float)


#: Counterexamples found by ``search`` (hypothesis, seed 0, shrunk), and one found by scanning η*
#: over configurations with a heavy component on μ* (a first-order increase of V_w: the gradient
#: flow itself increases it). The tests check each with the 40-digit reference and certify it in
#: ball arithmetic; the report's certified section reads this list.
KNOWN_COUNTEREXAMPLES = [
    ("V_w", StepConfig(((0.5,), (0.0,), (0.0,), (0.0,)), (0.05, 0.05, 0.05, 0.85), (0.0,), 0.25)),
    ("V_w", StepConfig(((0.0,), (0.1,), (-0.03,)), (0.85, 0.05, 0.1), (0.0,), 0.001)),
    ("V_max", StepConfig(((0.5,), (-0.5,), (0.0,), (0.0,)), (0.05, 0.85, 0.05, 0.05), (0.0,), 0.25)),
    ("V_bar", StepConfig(((0.0,), (3.0,)), (0.95, 0.05), (0.0,), 0.25)),
]


def _gradient(means, weights, target):
    mu, w, nu, p = as_batch(means[None], weights, target[None], None)
    mu, nu = centered(mu, nu, p)
    res = integrate_prepared("reverse", mu, w, nu, p, rtol=RTOL)
    K, d = means.shape
    return res.value[0, 0], res.error[0, 0], res.value[0, 1:].reshape(K, d), res.error[0, 1:].reshape(K, d), mu[0], w[0]


def one_step(candidate, config: StepConfig) -> tuple[float, float]:
    """(ΔV, slack) for one GD step on R from ``config``; ``candidate`` a name or UserCandidate."""
    means, weights, target = config.arrays()
    K, d = means.shape
    R0, R0_err, g, g_err, mu_c, w = _gradient(means, weights, target)
    eta = config.eta
    mon = lyapunov.resolve(candidate, K, d)
    if mon == lyapunov.OBJECTIVE:
        R1, R1_err, g1, _, _, _ = _gradient(means - eta * g, weights, target)
        # stepping with ĝ instead of the exact gradient moves the new point by ≤ η·err_g
        slack = R0_err + R1_err + eta * float(np.linalg.norm(g1) * np.linalg.norm(g_err)) * 2
        return float(R1 - R0), float(slack)
    zero = np.zeros(d)  # centred coordinates: the target is the origin
    dv = float(mon.delta(mu_c, w, zero, g, eta))
    slack = float(lyapunov.change_slack(mon, mu_c, w, zero, g, g_err, eta, np.asarray(dv)))
    return dv, slack


def configurations():
    """The hypothesis strategy of the search (see the module docstring)."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw):
        K = draw(st.integers(1, MAX_K))
        d = draw(st.integers(1, MAX_D))
        target = tuple(draw(st.floats(-2, 2)) for _ in range(d))
        means = []
        for _ in range(K):
            v = np.array([draw(st.floats(-1, 1)) for _ in range(d)])
            # anywhere in the ball, or close to the target (where merged components live), or on it
            r = draw(st.one_of(st.floats(0, RADIUS), st.floats(0, 0.5), st.just(0.0)))
            n = np.linalg.norm(v)
            v = v / n * r if n > 1e-9 else np.zeros(d)
            means.append(tuple(float(t + x) for t, x in zip(target, v)))
        raw = [draw(st.floats(0, 1)) for _ in range(K)]
        w = MIN_WEIGHT + (1 - K * MIN_WEIGHT) * (np.array(raw) + 1e-9) / (sum(raw) + K * 1e-9)
        w = w / w.sum()
        eta = draw(st.floats(ETA_MIN, ETA_MAX))
        return StepConfig(tuple(means), tuple(float(x) for x in w), target, float(eta))

    return build()
