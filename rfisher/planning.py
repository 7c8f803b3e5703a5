"""Grid planning and error estimation for one parameter set (compiled; see rfisher.quadrature).

These functions are called from the generated drivers ``{forward,reverse}_integrate`` for every
parameter set of a batch (so a GD step is one compiled call, whatever the batch size), and from
Python by the cross-check paths of ``rfisher.quadrature``. They take the logits at the
component centres, α_k(c) = log w_k − ||c − μ_k||²/2, from the generated code, and otherwise
only use geometry: the logit of k minus that of l is affine in x with gradient μ_k − μ_l.

The model behind the steps, the estimate and the refinement is in the docstring of
``rfisher.quadrature``.
"""

from __future__ import annotations

import math

import numpy as np

from rfisher._jit import njit

EPS = float(np.finfo(float).eps)
#: Relative rank threshold of the reduction basis: a direction whose singular value is below
#: this fraction of the largest changes an expectation only at second order (≈ 1e−20 relative).
RANK_RTOL = 1e-10
#: Steps are never larger than this (the Gaussian weight alone needs ≲ 0.8 at 1e−13).
MAX_STEP = 0.5
MAX_COUNT = 200_000
#: Each refinement multiplies the steps by this: the estimate behaves like exp(−c/h), so a step 0.7
#: times smaller raises the exponent by 1.4, which fixes a near miss at half the cost of halving.
REFINE_FACTOR = 0.7
#: Fraction of the allowance that the tail bound may use before the disk is widened.
TAIL_SHARE = 0.05


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


@njit
def _diameters(means, teacher_means):
    """(D_all, D_μ, D_e): largest distance among all means, among students, student–teacher."""
    K, d = means.shape
    J = teacher_means.shape[0]
    d_all = 0.0
    d_mu = 0.0
    d_e = 0.0
    for i in range(K + J):
        p = means[i] if i < K else teacher_means[i - K]
        for k in range(K + J):
            q = means[k] if k < K else teacher_means[k - K]
            s = 0.0
            for a in range(d):
                s += (p[a] - q[a]) ** 2
            s = math.sqrt(s)
            d_all = max(d_all, s)
            if i < K and k < K:
                d_mu = max(d_mu, s)
            if i < K <= k:
                d_e = max(d_e, s)
    return d_all, d_mu, d_e


@njit
def plan_one(centers, cweights, means, teacher_means, alpha_s, alpha_t, basis, rank, rtol, refine, boost,
             steps, counts):
    """Steps (S,) and counts (S,) along the first S columns of ``basis``; returns the radius.

    alpha_s (C, K), alpha_t (C, J): logits of the student and teacher components at each centre.
    Axis a gets the largest step H_a with ρ exp(−2πa/H + a²/2) below the tolerance for every
    transition (a = π/|⟨μ_k − μ_l, u_a⟩|, ρ = w_c exp(−dist²/2 − masking)) and below the
    Gaussian limit π√(2/Λ), Λ = log(4π(1 + D)³/rtol); then h = min(H/2, MAX_STEP)·0.7^refine.
    """
    C = centers.shape[0]
    S = steps.shape[0]
    d_all, _, d_e = _diameters(means, teacher_means)
    lam0 = math.log(4.0 * math.pi * (1.0 + d_all) ** 3 / rtol)
    H = np.full(S, math.pi * math.sqrt(2.0 / lam0))
    for mix in range(2):
        mm = means if mix == 0 else teacher_means
        al = alpha_s if mix == 0 else alpha_t
        n = mm.shape[0]
        for k in range(n):
            for l in range(k + 1, n):
                delta = mm[k] - mm[l]
                norm2 = np.sum(delta * delta)
                if norm2 == 0.0:
                    continue
                lam_max = -np.inf
                for c in range(C):
                    gap = al[c, k] - al[c, l]  # t = logit_k − logit_l at c; ∇t = δ
                    s = -gap / norm2  # the transition's nearest point is c + s δ
                    mask = 0.0  # how far a third component's logit rises above k's there
                    for m in range(n):
                        rise = al[c, m] - al[c, k] + s * np.sum((mm[m] - mm[k]) * delta)
                        mask = max(mask, rise)
                    lam = math.log(cweights[c]) + lam0 - 0.5 * gap * gap / norm2 - mask
                    lam_max = max(lam_max, lam)
                if lam_max <= 0.0:
                    continue
                for a in range(min(rank, S)):
                    slope = abs(np.sum(delta * basis[:, a]))
                    if slope == 0.0:
                        continue
                    pole = math.pi / slope
                    if not math.isfinite(pole):
                        continue
                    # 2πp/(Λ + p²/2), written so that p² cannot overflow for nearly flat axes
                    Hp = 2.0 * math.pi / (lam_max / pole + 0.5 * pole)
                    if Hp <= 2.0 * math.pi / pole:
                        H[a] = min(H[a], Hp)
    radius = math.sqrt(2.0 * (math.log(1.0 / rtol) + 3.0 * math.log1p(d_all + d_e) + 4.0) + boost)
    for a in range(S):
        if a < rank:
            h = min(H[a] / 2.0, MAX_STEP) * REFINE_FACTOR**refine
            steps[a] = h
            counts[a] = min(int(math.ceil(radius / h)), MAX_COUNT)
        else:
            steps[a] = 1.0
            counts[a] = 0
    return radius


@njit
def chi_tail(s, L):
    """P(χ_s > L) and E[χ_s; χ_s > L] for s ∈ {0, 1, 2, 3} (χ_s = ||y||, y ~ N(0, I_s))."""
    erfc = math.erfc(L / math.sqrt(2.0))
    g = math.exp(-0.5 * L * L)
    phi = g / math.sqrt(2.0 * math.pi)
    if s == 0:
        return 0.0, 0.0
    if s == 1:
        return erfc, 2.0 * phi
    if s == 2:
        return g, L * g + math.sqrt(math.pi / 2.0) * erfc
    if s == 3:
        return erfc + 2.0 * L * phi, math.sqrt(2.0 / math.pi) * (L * L + 2.0) * g
    return np.nan, np.nan


@njit
def tail_one(reverse, centers, cweights, means, teacher_means, rank, radius, tail):
    """Bound on Σ_c w_c E[|f(c + U y)|; ||y|| > radius] per output, written into tail (P,).

    With D_e = max ||μ_i − ν_j|| ≥ ||e||, D_μ = max ||μ_i − μ_k|| ≥ ||μ_j − m_θ||, and
    G_c = max_j ||c − μ_j|| so that ||x − μ_j|| ≤ G_c + ||y||: ||e||² ≤ D_e²;
    |∇_μ ||e||²| ≤ 2(D_e + (G_c + ||y||) D_μ D_e); the moving-measure term (reverse) adds
    (G_c + ||y||) D_e².
    """
    _, d_mu, d_e = _diameters(means, teacher_means)
    prob, first = chi_tail(rank, radius)
    const = 0.0
    for c in range(centers.shape[0]):
        g = 0.0
        for j in range(means.shape[0]):
            g = max(g, math.sqrt(np.sum((centers[c] - means[j]) ** 2)))
        a1 = 2.0 * (d_e + g * d_mu * d_e)
        if reverse:
            a1 += g * d_e * d_e
        const += cweights[c] * a1
    b1 = 2.0 * d_mu * d_e + (d_e * d_e if reverse else 0.0)
    tail[0] = d_e * d_e * prob
    tail[1:] = const * prob + b1 * first


@njit
def estimate_one(sums, npts, tail, rtol, atol, value, error, scale):
    """From the kernel sums (T_h, T_2h, Σ|w f|) per output: value, error = |T_h − T_2h| +
    ε(64 + 2√N)Σ|w f| + tail, scale. Returns (ok, excess): ok if every error ≤ rtol·(group
    scale) + atol, excess = largest tail/(TAIL_SHARE·allowance) (> 1: widen the disk)."""
    P = sums.shape[1]
    rounding = EPS * (64.0 + 2.0 * math.sqrt(npts))
    gmax = 0.0
    for p in range(1, P):
        gmax = max(gmax, sums[2, p])
    ok = True
    excess = 0.0
    for p in range(P):
        value[p] = sums[0, p]
        scale[p] = sums[2, p]
        error[p] = abs(sums[0, p] - sums[1, p]) + rounding * sums[2, p] + tail[p]
        allowed = rtol * (sums[2, 0] if p == 0 else gmax) + atol
        if error[p] > allowed:
            ok = False
        if allowed > 0.0:
            excess = max(excess, tail[p] / (TAIL_SHARE * allowed))
        elif tail[p] > 0.0:
            excess = np.inf
    return ok, excess
