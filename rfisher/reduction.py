"""The reduction of a mixture expectation to the span of the differences of means.

The responsibilities depend on x only through ⟨μ_k − μ_l, x⟩ and ⟨ν_j − ν_l, x⟩, so every Fisher
integrand is f(c + z) = g(U^T z) + ⟨h(U^T z), z_⊥⟩ with U an orthonormal basis of
S = span{μ_k − μ_0, ν_j − ν_0} and z_⊥ ⟂ S independent of U^T z. The term linear in z_⊥ has mean 0,
so E[f(c + z)] = E_{y~N(0, I_s)}[f(c + U y)] exactly, s = dim S ≤ min(d, K + J − 2)
(docs/theory.md, "Quadrature"). ``basis_one`` computes U.
"""

from __future__ import annotations

import math

from rfisher.compiled import njit

#: Relative rank threshold of the reduction basis: a direction whose remainder is below this
#: fraction of the largest difference changes an expectation only at second order (≈ 1e−20 relative).
RANK_RTOL = 1e-10


@njit
def _project_out(v, basis, cols):
    """v ← v − Σ_{a < cols} ⟨v, basis[:, a]⟩ basis[:, a] (classical Gram–Schmidt step, in place)."""
    d = v.shape[0]
    for a in range(cols):
        dot = 0.0
        for b in range(d):
            dot += v[b] * basis[b, a]
        for b in range(d):
            v[b] -= dot * basis[b, a]


@njit
def _norm(v):
    s = 0.0
    for b in range(v.shape[0]):
        s += v[b] * v[b]
    return math.sqrt(s)


@njit
def _orthonormalize(vectors, rows, basis, tol, v):
    """Pivoted Gram–Schmidt (two passes) of vectors[:rows] into the columns of basis; returns the
    number of columns kept: vectors whose remainder is below tol are dropped. vectors is overwritten
    (the remainders); v (d,): scratch. No allocation: this runs at every evaluation."""
    d = basis.shape[0]
    rank = 0
    used = 0  # bit i: row i taken
    for _ in range(min(rows, d)):
        best, best_norm = -1, tol
        for i in range(rows):
            if not (used >> i) & 1:
                norm = _norm(vectors[i])
                if norm > best_norm:
                    best, best_norm = i, norm
        if best < 0:
            break
        used |= 1 << best
        for b in range(d):
            v[b] = vectors[best, b] / best_norm
        for _pass in range(2):
            _project_out(v, basis, rank)
            norm = _norm(v)
            for b in range(d):
                v[b] /= norm
        for b in range(d):
            basis[b, rank] = v[b]
        rank += 1
        for i in range(rows):  # remove the new direction from what is left
            if not (used >> i) & 1:
                dot = 0.0
                for b in range(d):
                    dot += vectors[i, b] * v[b]
                for b in range(d):
                    vectors[i, b] -= dot * v[b]
    return rank


@njit
def basis_one(means, teacher_means, full, basis, diffs, v):
    """Fill basis (d, d) with an orthonormal basis whose first ``rank`` columns span
    S = span{μ_k − μ_0, ν_j − ν_0} (or all of R^d if ``full``); return rank. Directions whose
    remainder is below RANK_RTOL times the largest difference are dropped. diffs (≥ max(K + J − 2, 1),
    d) and v (d,): scratch."""
    K, d = means.shape
    J = teacher_means.shape[0]
    for a in range(d):
        for b in range(d):
            basis[a, b] = 0.0
    if full:
        for a in range(d):
            basis[a, a] = 1.0
        return d
    rows = K - 1 + J - 1
    for k in range(1, K):
        for b in range(d):
            diffs[k - 1, b] = means[k, b] - means[0, b]
    for j in range(1, J):
        for b in range(d):
            diffs[K - 1 + j - 1, b] = teacher_means[j, b] - teacher_means[0, b]
    largest = 0.0
    for i in range(rows):
        largest = max(largest, _norm(diffs[i]))
    rank = 0
    if largest > 0.0:
        rank = _orthonormalize(diffs, rows, basis, RANK_RTOL * largest, v)
    # complete with coordinate directions (only the first max(rank, 1) columns are ever used)
    col = rank
    for e in range(d):
        if col >= d:
            break
        for b in range(d):
            v[b] = 1.0 if b == e else 0.0
        for _pass in range(2):
            _project_out(v, basis, col)
        norm = _norm(v)
        if norm > 1e-8:
            for b in range(d):
                basis[b, col] = v[b] / norm
            col += 1
    return rank
