"""The reduction of a mixture expectation to the span of the differences of means.

The responsibilities depend on x only through ⟨μ_k − μ_l, x⟩ and ⟨ν_j − ν_l, x⟩, so every Fisher
integrand is f(c + z) = g(U^T z) + ⟨h(U^T z), z_⊥⟩ with U an orthonormal basis of
S = span{μ_k − μ_0, ν_j − ν_0} and z_⊥ ⟂ S independent of U^T z. The term linear in z_⊥ has mean 0,
so E[f(c + z)] = E_{y~N(0, I_s)}[f(c + U y)] exactly, s = dim S ≤ min(d, K + J − 2)
(docs/theory.md, "Quadrature"). ``basis_one`` computes U.
"""

from __future__ import annotations

import math

import numpy as np

from rfisher.compiled import njit

#: Relative rank threshold of the reduction basis: a direction whose remainder is below this
#: fraction of the largest difference changes an expectation only at second order (≈ 1e−20 relative).
RANK_RTOL = 1e-10


@njit
def _orthonormalize(vectors, rows, basis, tol):
    """Pivoted Gram–Schmidt (two passes) of vectors[:rows] into the columns of basis; returns the
    number of columns kept: vectors whose remainder is below tol are dropped."""
    d = basis.shape[0]
    work = vectors[:rows].copy()
    rank = 0
    used = np.zeros(rows, dtype=np.bool_)
    for _ in range(min(rows, d)):
        best, best_norm = -1, tol
        for i in range(rows):
            if not used[i]:
                norm = math.sqrt(np.sum(work[i] ** 2))
                if norm > best_norm:
                    best, best_norm = i, norm
        if best < 0:
            break
        used[best] = True
        v = work[best] / best_norm
        for _pass in range(2):
            for a in range(rank):
                v = v - np.sum(v * basis[:, a]) * basis[:, a]
            v = v / math.sqrt(np.sum(v * v))
        basis[:, rank] = v
        rank += 1
        for i in range(rows):  # remove the new direction from what is left
            if not used[i]:
                work[i] = work[i] - np.sum(work[i] * v) * v
    return rank


@njit
def basis_one(means, teacher_means, full, basis):
    """Fill basis (d, d) with an orthonormal basis whose first ``rank`` columns span
    S = span{μ_k − μ_0, ν_j − ν_0} (or all of R^d if ``full``); return rank. Directions whose
    remainder is below RANK_RTOL times the largest difference are dropped."""
    K, d = means.shape
    J = teacher_means.shape[0]
    basis[:, :] = 0.0
    if full:
        for a in range(d):
            basis[a, a] = 1.0
        return d
    rows = K - 1 + J - 1
    D = np.empty((max(rows, 1), d))
    for k in range(1, K):
        D[k - 1, :] = means[k, :] - means[0, :]
    for j in range(1, J):
        D[K - 1 + j - 1, :] = teacher_means[j, :] - teacher_means[0, :]
    largest = 0.0
    for i in range(rows):
        largest = max(largest, math.sqrt(np.sum(D[i] ** 2)))
    rank = 0
    if largest > 0.0:
        rank = _orthonormalize(D, rows, basis, RANK_RTOL * largest)
    # complete with coordinate directions (only the first max(rank, 1) columns are ever used)
    eye = np.eye(d)
    _orthonormalize_from(eye, basis, rank)
    return rank


@njit
def _orthonormalize_from(candidates, basis, start):
    d = basis.shape[0]
    col = start
    for i in range(d):
        if col >= d:
            break
        v = candidates[i].copy()
        for _pass in range(2):
            for a in range(col):
                v = v - np.sum(v * basis[:, a]) * basis[:, a]
        norm = math.sqrt(np.sum(v * v))
        if norm > 1e-8:
            basis[:, col] = v / norm
            col += 1
