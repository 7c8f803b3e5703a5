"""Teachers with a given separation and random initialization schemes for the student (claim C3).

Teacher layouts, each with minimum pairwise distance Δ = min_{j≠k} ||ν_j − ν_k|| exactly:

    "line"     ν_j = j·Δ·e_1, centred at the origin
    "simplex"  the vertices of a regular simplex with edge Δ (needs J ≤ d + 1)
    "random"   points drawn uniformly in a cube, kept when at least Δ from all previous ones
               (the cube grows until J points fit), then rescaled so the minimum distance is Δ

Initialization schemes for K student components:

    "teacher"  each mean drawn from p itself: a component j with probability π_j, then ν_j + N(0, I)
    "box"      each mean uniform in the bounding box of the teacher means, widened by ``margin``
    "user"     the means given (validated, repeated over seeds)
"""

from __future__ import annotations

import numpy as np

from rfisher.mixture import GaussianMixture, as_means

LAYOUTS = ("line", "simplex", "random")
SCHEMES = ("teacher", "box", "user")


def min_distance(points: np.ndarray) -> float:
    diff = points[:, None, :] - points[None, :, :]
    dist = np.sqrt(np.sum(diff**2, axis=-1))
    np.fill_diagonal(dist, np.inf)
    return float(dist.min())


def teacher_means(layout: str, J: int, d: int, separation: float, seed: int = 0) -> np.ndarray:
    """J teacher means in R^d with minimum pairwise distance ``separation`` (see module docstring)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if J < 1 or d < 1:
        raise ValueError(f"need J ≥ 1 and d ≥ 1, got J={J}, d={d}")
    if not separation > 0:
        raise ValueError(f"separation must be positive, got {separation!r}")
    if J == 1:
        return np.zeros((1, d))
    if layout == "line":
        pts = np.zeros((J, d))
        pts[:, 0] = separation * (np.arange(J) - (J - 1) / 2)
        return pts
    if layout == "simplex":
        if J > d + 1:
            raise ValueError(f"a simplex with J = {J} vertices needs d ≥ {J - 1}, got d = {d}")
        # the standard basis of R^J, centred, has edge √2; express it in an orthonormal basis of its span
        E = np.eye(J) - 1.0 / J
        u, _, _ = np.linalg.svd(E)
        pts = E @ u[:, : J - 1] * (separation / np.sqrt(2))
        return np.concatenate([pts, np.zeros((J, d - (J - 1)))], axis=1)
    rng = np.random.default_rng(seed)
    side = separation * J ** (1.0 / d) * 1.5
    for _ in range(200):
        pts = [rng.uniform(0, side, size=d)]
        for _ in range(2000):
            if len(pts) == J:
                break
            c = rng.uniform(0, side, size=d)
            if min(np.linalg.norm(c - q) for q in pts) >= separation:
                pts.append(c)
        if len(pts) == J:
            pts = np.array(pts)
            pts = (pts - pts.mean(axis=0)) * (separation / min_distance(pts))
            return pts
        side *= 1.3
    raise RuntimeError("could not place the teacher means")  # pragma: no cover


def make_teacher(layout: str, J: int, d: int, separation: float, weights=None, seed: int = 0) -> GaussianMixture:
    return GaussianMixture(teacher_means(layout, J, d, separation, seed), weights)


def initializations(scheme: str, teacher: GaussianMixture, K: int, n: int, seed: int = 0, margin: float = 2.0,
                    means=None) -> np.ndarray:
    """n initial student means (n, K, d) by ``scheme`` (see module docstring). Deterministic in seed."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    rng = np.random.default_rng(seed)
    d = teacher.d
    if scheme == "teacher":
        comp = rng.choice(teacher.K, size=(n, K), p=teacher.weights)
        return teacher.means[comp] + rng.standard_normal((n, K, d))
    if scheme == "box":
        lo = teacher.means.min(axis=0) - margin
        hi = teacher.means.max(axis=0) + margin
        return lo + (hi - lo) * rng.random((n, K, d))
    if means is None:
        raise ValueError("scheme 'user' needs means")
    m = as_means(means, "user means")
    if m.shape != (K, d):
        raise ValueError(f"user means must have shape ({K}, {d}), got {m.shape}")
    return np.broadcast_to(m, (n, K, d)).copy()
