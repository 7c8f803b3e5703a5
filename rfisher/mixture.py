"""Validated Gaussian mixtures with identity covariances (student q_θ and teacher p).

``GaussianMixture(means, weights)`` is Σ_i w_i N(μ_i, I) in R^d. It is immutable, holds float64
copies, and refuses bad input with a ``ValueError`` that names the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rfisher import validation
from rfisher.validation import InvalidArgument

#: |Σ w_i − 1| allowed before a ``ValueError``; accepted weights are then divided by their sum,
#: so that every later formula sees weights that sum to 1 to rounding.
WEIGHT_SUM_TOL = 1e-9


def as_means(means, name: str = "means") -> np.ndarray:
    """A finite float array of shape (K, d) with K, d ≥ 1."""
    arr = validation.real_array(means, name, finite=False)
    if arr.ndim != 2:
        raise InvalidArgument(
            f"{name} must have shape (K, d) (one row per component), got shape {arr.shape}; "
            f"for d = 1 write e.g. [[3.0], [-1.0]]"
        )
    if arr.shape[0] == 0:
        raise InvalidArgument(f"{name} has no components (K = 0)")
    if arr.shape[1] == 0:
        raise InvalidArgument(f"{name} has dimension d = 0")
    _check_finite(arr, name)
    return arr


def as_weights(weights, K: int, name: str = "weights") -> np.ndarray:
    """Positive finite weights of shape (K,) summing to 1 within WEIGHT_SUM_TOL (then renormalized)."""
    if weights is None:
        return np.full(K, 1.0 / K)
    arr = validation.real_array(weights, name, finite=False)
    if arr.ndim != 1 or arr.shape[0] != K:
        raise InvalidArgument(f"{name} must have shape ({K},) to match {K} component(s), got shape {arr.shape}")
    _check_finite(arr, name)
    if np.any(arr <= 0):
        bad = np.flatnonzero(arr <= 0)
        raise InvalidArgument(f"{name} must be positive; {name}[{bad[0]}] = {arr[bad[0]]!r}")
    total = float(arr.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOL:
        raise InvalidArgument(f"{name} must sum to 1 (within {WEIGHT_SUM_TOL:g}); they sum to {total!r}")
    return arr / total


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InvalidArgument(f"{name} must be finite; {name}{list(idx)} = {arr[idx]!r}")


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """Σ_i w_i N(μ_i, I): means of shape (K, d), weights of shape (K,) (default: uniform)."""

    means: np.ndarray
    weights: np.ndarray

    def __init__(self, means, weights=None):
        m = as_means(means)
        w = as_weights(weights, m.shape[0])
        m.setflags(write=False)
        w.setflags(write=False)
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "weights", w)

    @classmethod
    def single(cls, mean) -> GaussianMixture:
        """The single Gaussian N(μ*, I) (a one-component teacher)."""
        m = validation.real_array(mean, "mean", finite=False)
        if m.ndim > 1:
            raise InvalidArgument(f"mean must be a point (shape (d,)) or a number (d = 1), got shape {m.shape}")
        return cls(np.atleast_2d(m), [1.0])

    @property
    def K(self) -> int:
        return self.means.shape[0]

    @property
    def d(self) -> int:
        return self.means.shape[1]

    @property
    def mean(self) -> np.ndarray:
        """μ̄ = Σ_i w_i μ_i."""
        return self.weights @ self.means

    def with_means(self, means) -> GaussianMixture:
        return GaussianMixture(means, self.weights)

    def __repr__(self) -> str:
        return f"GaussianMixture(means={self.means.tolist()}, weights={self.weights.tolist()})"


def check_pair(student: GaussianMixture, teacher: GaussianMixture) -> None:
    """Student and teacher must live in the same dimension."""
    if not isinstance(student, GaussianMixture) or not isinstance(teacher, GaussianMixture):
        bad = "student" if not isinstance(student, GaussianMixture) else "teacher"
        value = student if bad == "student" else teacher
        raise validation.InvalidArgumentType(f"{bad} must be a GaussianMixture, got {type(value).__name__} "
                                             f"{validation.show(value)}")
    if student.d != teacher.d:
        raise InvalidArgument(f"student has dimension d = {student.d} but teacher has d = {teacher.d}")


def as_batch(means, weights, teacher_means, teacher_weights,
             names=("means", "weights", "teacher_means", "teacher_weights")):
    """Validate a batch: means (B, K, d); weights (K,) or (B, K); teacher (J, d) or (B, J, d).

    Returns float arrays broadcast to (B, K, d), (B, K), (B, J, d), (B, J). ``names``: the
    arguments' names in the errors (``rfisher.validation``).
    """
    n_mu, n_w, n_nu, n_p = names
    mu = validation.real_array(means, n_mu, finite=False)
    if mu.ndim != 3 or 0 in mu.shape:
        raise InvalidArgument(f"batched {n_mu} must have shape (B, K, d) with B, K, d ≥ 1, got {mu.shape}")
    B, K, d = mu.shape
    _check_finite(mu, n_mu)
    w = validation.real_array(weights, n_w, finite=False) if weights is not None else np.full(K, 1.0 / K)
    if w.ndim == 1:
        w = np.broadcast_to(as_weights(w, K, n_w), (B, K))
    elif w.shape == (B, K):
        w = np.stack([as_weights(row, K, f"{n_w}[{b}]") for b, row in enumerate(w)])
    else:
        raise InvalidArgument(f"{n_w} must have shape ({K},) or ({B}, {K}), got {w.shape}")
    nu = validation.real_array(teacher_means, n_nu, finite=False)
    if nu.ndim == 2:
        nu = np.broadcast_to(as_means(nu, n_nu), (B, *nu.shape))
    elif nu.ndim != 3 or nu.shape[0] != B or 0 in nu.shape:
        raise InvalidArgument(f"{n_nu} must have shape (J, d) or ({B}, J, d), got {nu.shape}")
    _check_finite(nu, n_nu)
    if nu.shape[2] != d:
        raise InvalidArgument(f"student has dimension d = {d} but teacher has d = {nu.shape[2]}")
    J = nu.shape[1]
    p = validation.real_array(teacher_weights, n_p, finite=False) if teacher_weights is not None else np.full(J, 1.0 / J)
    if p.ndim == 1:
        p = np.broadcast_to(as_weights(p, J, n_p), (B, J))
    elif p.shape == (B, J):
        p = np.stack([as_weights(row, J, f"{n_p}[{b}]") for b, row in enumerate(p)])
    else:
        raise InvalidArgument(f"{n_p} must have shape ({J},) or ({B}, {J}), got {p.shape}")
    # writeable C-contiguous float64 copies (broadcast views are read-only; the kernels take plain arrays)
    return tuple(np.require(a, np.float64, ["C", "W", "O"]) for a in (mu, w, nu, p))
