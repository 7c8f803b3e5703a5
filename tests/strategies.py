"""The one home of hypothesis strategies: weights, means and student/teacher configurations."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from rfisher import GaussianMixture

#: Separation regimes of docs/theory.md, "Quadrature": overlapping, moderate, far.
SEPARATIONS = {"overlapping": (1e-3, 1e-3), "moderate": (3.0, 8.0), "far": (40.0, 40.0)}


@st.composite
def weights(draw, K: int, min_weight: float = 0.01):
    """Positive weights summing to 1, each ≥ ``min_weight`` (0.01/0.99 included)."""
    if K == 1:
        return np.array([1.0])
    raw = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=K, max_size=K)))
    w = min_weight + (1 - K * min_weight) * (raw + 1e-12) / (raw.sum() + K * 1e-12)
    return w / w.sum()


@st.composite
def means_with_separation(draw, K: int, d: int, regime: str):
    """K means in R^d, consecutive ones a distance drawn from the regime's range apart."""
    lo, hi = SEPARATIONS[regime]
    start = np.array(draw(st.lists(st.floats(-3, 3), min_size=d, max_size=d)))
    pts = [start]
    for _ in range(K - 1):
        direction = np.array(draw(st.lists(st.floats(-1, 1), min_size=d, max_size=d)))
        norm = np.linalg.norm(direction)
        direction = np.eye(d)[0] if norm < 1e-3 else direction / norm
        dist = draw(st.floats(lo, hi)) if hi > lo else lo
        pts.append(pts[-1] + dist * direction)
    return np.array(pts)


@st.composite
def configurations(draw, d: int = 1, max_K: int = 3, max_J: int = 2, regimes=tuple(SEPARATIONS)):
    """(student, teacher, regime): a student in a separation regime and a teacher near it."""
    K = draw(st.integers(1, max_K))
    J = draw(st.integers(1, max_J))
    regime = draw(st.sampled_from(regimes))
    student = GaussianMixture(draw(means_with_separation(K, d, regime)), draw(weights(K)))
    teacher_means = np.array(draw(st.lists(st.lists(st.floats(-4, 4), min_size=d, max_size=d),
                                           min_size=J, max_size=J)))
    teacher = GaussianMixture(teacher_means, draw(weights(J, 0.05)))
    return student, teacher, regime


@st.composite
def single_teacher_configurations(draw, d: int = 1, max_K: int = 3, radius: float = 6.0):
    """(student, teacher) with one teacher component and student means in a ball."""
    K = draw(st.integers(1, max_K))
    means = np.array(draw(st.lists(st.lists(st.floats(-radius, radius), min_size=d, max_size=d),
                                   min_size=K, max_size=K)))
    target = np.array(draw(st.lists(st.floats(-2, 2), min_size=d, max_size=d)))
    return GaussianMixture(means, draw(weights(K, 0.05))), GaussianMixture.single(target)


def points(d: int, n: int = 5, bound: float = 10.0):
    return st.lists(st.lists(st.floats(-bound, bound), min_size=d, max_size=d), min_size=n, max_size=n).map(np.array)


@st.composite
def exact_zero_configurations(draw, d: int = 1, max_J: int = 3):
    """Configurations where R, F and their gradients are exactly 0 (docs/theory.md, "Error bounds"): the
    student equals the teacher, possibly with a teacher component split into coinciding student components
    of the same total weight, and possibly mirror-symmetric about the origin."""
    J = draw(st.integers(1, max_J))
    pi = draw(weights(J, 0.05))
    if draw(st.booleans()) and J >= 2:  # mirror-symmetric teacher: ν and −ν with equal weights
        half = [tuple(draw(st.floats(-4, 4)) for _ in range(d))]
        nu = [half[0], tuple(-x for x in half[0])] + [tuple(draw(st.floats(-4, 4)) for _ in range(d))
                                                       for _ in range(J - 2)]
        pi = np.array([0.5, 0.5]) if J == 2 else pi
    else:
        nu = [tuple(draw(st.floats(-4, 4)) for _ in range(d)) for _ in range(J)]
    mu, w = list(nu), list(pi)
    if draw(st.booleans()):  # split one component into two coinciding ones (weights are exact halves)
        j = draw(st.integers(0, J - 1))
        mu.append(mu[j])
        w[j] = w[j] / 2
        w.append(w[j])
    return GaussianMixture(np.array(mu), np.array(w)), GaussianMixture(np.array(nu), np.array(pi))
