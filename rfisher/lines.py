"""The trapezoid rule along one line: the inner loop of the quadrature (docs/theory.md, "Quadrature").

Along the line x(t) = b + t u (u a unit vector) every logit is a_k(b) + G_k t − t²/2 with
G_k = ⟨∇a_k(b), u⟩, and the −t²/2 is common to all components of a mixture, so the responsibilities
are softmax_k(A_k + G_k t), computed at each node relative to the largest logit there (log-sum-exp
form). The nodes are t_n = n h, |n| ≤ m, with weights ω·h·φ(t_n) (φ the standard normal density, ω
the weight of the line); the nodes with even n form the rule of step 2h, whose sum comes for free.

Points are processed in chunks of CHUNK, with every step a loop over the points of the chunk that
touches one row at a time, so that it vectorises: the logits, the exponentials (``exp_nonpositive``,
a polynomial with Cody–Waite reduction: no library call), the normalisation, the generated integrand
and its majorant. Sums are kept in LANES lanes (lane = point index mod LANES) and reduced in a fixed
order at the end of the line: nothing is reassociated, so a result depends on its inputs only, bit
for bit, whatever batch it sits in. The generated functions of the size at hand come in ``fns``
(``rfisher.compiled.Generated``).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from rfisher.compiled import njit

#: Points per call of the generated integrand, and lanes of the sums (a multiple of 8 for the vector units).
CHUNK = 128
INV_SQRT_2PI = 0.3989422804014327
#: Below this argument ``exp_nonpositive`` returns 0 (exp(−708) ≈ 3e−308: the absolute error it makes).
EXP_FLOOR = -708.0
#: Accuracy of ``exp_nonpositive``, in units of ε (checked against math.exp in tests/test_quadrature.py).
EXP_ULPS = 2

#: Rows of the lane sums: the rule, the lines of even outer index times 2^(s−1) (the rule with the outer
#: steps doubled), Σ w|f|, and the rounding bound Σ w·maj f·(depth + logit magnitude). The rule with the
#: inner step doubled is twice the even lanes of FINE: every line starts at the lane of its parity.
FINE, OUTER, ABS, ROUND = 0, 1, 2, 3
N_SUMS = 4

LineWork = namedtuple("LineWork", "xb A_s G_s A_t G_t t top ssum bits mag tmax terms_s terms_t x r rho out maj wt factor "
                                   "lanes")

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.44269504088896338700e00
# Taylor coefficients 1/k!, k = 2..12: |r| ≤ ln2/2 makes the truncation below ε/4
_C = (0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800,
      1.0 / 39916800, 1.0 / 479001600)


@njit
def exp_nonpositive(x, bits, n):
    """x[i] ← exp(x[i]) for x[i] ≤ 0 and i < n, in place (0 below EXP_FLOOR): x = k ln2 + r,
    |r| ≤ ln2/2, exp(r) by its Taylor polynomial, 2^k assembled from its bits (0 bits give 0.0). Pure
    arithmetic on one row: it vectorises."""
    for i in range(n):
        v = x[i]
        below = v < EXP_FLOOR
        v = max(v, EXP_FLOOR)
        k = math.floor(v * _LOG2E + 0.5)
        r = (v - k * _LN2_HI) - k * _LN2_LO
        p = _C[10]
        for c in range(9, -1, -1):
            p = p * r + _C[c]
        x[i] = 1.0 + r + r * r * p
        bits[i] = 0 if below else (np.int64(k) + 1023) << 52
    scale = bits.view(np.float64)
    for i in range(n):
        x[i] *= scale[i]


@njit
def line_work(K, J, d, P):
    """Scratch arrays for ``line_sum`` (allocated once per call of the quadrature)."""
    return LineWork(np.empty((d, 1)), np.empty((K, 1)), np.empty(K), np.empty((J, 1)), np.empty(J), np.empty(CHUNK),
                    np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK, dtype=np.int64), np.empty(CHUNK), np.empty(CHUNK),
                    np.empty((K, CHUNK)), np.empty((J, CHUNK)), np.empty((d, CHUNK)),
                    np.empty((K, CHUNK)), np.empty((J, CHUNK)), np.empty((P, CHUNK)), np.empty((P, CHUNK)),
                    np.empty(CHUNK), np.empty(CHUNK), np.zeros((N_SUMS, P, CHUNK)))


@njit
def softmax_line(A, G, t, n, dest, top, ssum, bits, mag, tmax):
    """dest[k, i] = softmax_k(A_k + G_k t_i) for i < n (t increasing), one row at a time. A component
    whose logit stays more than −EXP_FLOOR below another's over the whole chunk gets 0 without
    computing its exponentials.

    mag[i] += 2(Σ_k r_k T_k + (1 − 2 r_max) T_max) with T_k = |A_k| + |G_k t_i| and T_max that of the
    largest responsibility: the logits are computed with an error of at most 2ε T_k each, the difference
    to the largest one is exact for the largest itself, so the relative error of the responsibilities is
    at most ε times 2Σ_{k≠top} r_k (T_k + T_top) = that bound (used by the quadrature's rounding term).
    top, ssum, tmax: scratch (n,); bits: int64 scratch (n,)."""
    K = A.shape[0]
    if K == 1:
        for i in range(n):
            dest[0, i] = 1.0
        return
    for i in range(n):
        top[i] = A[0] + G[0] * t[i]
    for k in range(1, K):
        a, g = A[k], G[k]
        for i in range(n):
            top[i] = max(top[i], a + g * t[i])
    for i in range(n):
        ssum[i] = 0.0
    lo, hi = t[0], t[n - 1]
    for k in range(K):
        a, g = A[k], G[k]
        row = dest[k]
        bound = np.inf  # an upper bound of a_k − top over the chunk: min over j of the gap to a_j
        for j in range(K):
            gap = max((a - A[j]) + (g - G[j]) * lo, (a - A[j]) + (g - G[j]) * hi)
            bound = min(bound, gap)
        if bound < EXP_FLOOR:
            for i in range(n):
                row[i] = 0.0
            continue
        for i in range(n):
            row[i] = (a + g * t[i]) - top[i]
        exp_nonpositive(row, bits, n)
        for i in range(n):
            ssum[i] += row[i]
    for i in range(n):
        ssum[i] = 1.0 / ssum[i]
        top[i] = 0.0  # the largest responsibility so far
        tmax[i] = 0.0
    for k in range(K):
        row = dest[k]
        a, g = abs(A[k]), abs(G[k])
        for i in range(n):
            r = row[i] * ssum[i]
            row[i] = r
            T = a + g * abs(t[i])
            mag[i] += 2.0 * r * T
            if r > top[i]:
                top[i] = r
                tmax[i] = T
    for i in range(n):
        mag[i] += 2.0 * (1.0 - 2.0 * top[i]) * tmax[i]

@njit
def softmax_points(a, n, log_weights, terms, top, tmax, bits, mag):
    """a (components, ≥ n) holds the logits at n points: replace them by the responsibilities (log-sum-exp
    form) and add to mag[i] the logits' magnitude 2(Σ_k r_k T_k + (1 − 2 r_max) T_max) as ``softmax_line``
    does, with T_k = |a_k| + 2|log w_k| ≥ |log w_k| + ||x − c_k||²/2 (the terms of the printed logit).
    terms (components, ≥ n), top, tmax, bits: scratch."""
    K = a.shape[0]
    if K == 1:
        for i in range(n):
            a[0, i] = 1.0
        return
    for i in range(n):
        top[i] = a[0, i]
    for k in range(1, K):
        row = a[k]
        for i in range(n):
            top[i] = max(top[i], row[i])
    for i in range(n):
        tmax[i] = 0.0  # the running sum of the exponentials, then T of the largest responsibility
    for k in range(K):
        row = a[k]
        tk = terms[k]
        lw = 2.0 * abs(log_weights[k])
        for i in range(n):
            tk[i] = abs(row[i]) + lw
            row[i] = row[i] - top[i]
        exp_nonpositive(row, bits, n)
        for i in range(n):
            tmax[i] += row[i]
    for i in range(n):
        tmax[i] = 1.0 / tmax[i]
    for k in range(K):
        row = a[k]
        for i in range(n):
            row[i] *= tmax[i]
    for i in range(n):
        top[i] = 0.0  # now the largest responsibility
        tmax[i] = 0.0
    for k in range(K):
        row = a[k]
        tk = terms[k]
        for i in range(n):
            r = row[i]
            mag[i] += 2.0 * r * tk[i]
            if r > top[i]:
                top[i] = r
                tmax[i] = tk[i]
    for i in range(n):
        mag[i] += 2.0 * (1.0 - 2.0 * top[i]) * tmax[i]


@njit
def accumulate(n, wt, factor, outer, out, maj, lanes):
    """Add one chunk into the lane sums (N_SUMS, P, CHUNK): lane i collects the points at position i of
    every chunk, in order, so each sum is a fixed sequence of operations (no reassociation) and the loop
    vectorises. wt: node weights; factor: the rounding factor of each node times its weight; outer: the
    factor of this line in the rule with the outer steps doubled (0 or 2^(s−1))."""
    for p in range(out.shape[0]):
        o = out[p]
        mj = maj[p]
        fine, absl, rnd = lanes[FINE, p], lanes[ABS, p], lanes[ROUND, p]
        for i in range(n):
            v = wt[i] * o[i]
            fine[i] += v
            absl[i] += abs(v)
            rnd[i] += factor[i] * mj[i]
        if outer != 0.0:
            oth = lanes[OUTER, p]
            for i in range(n):
                oth[i] += outer * (wt[i] * o[i])


@njit
def reduce_lanes(lanes, totals, scratch):
    """totals[r, p] += Σ_i lanes[r, p, i] for the N_SUMS rows, and totals[N_SUMS, p] += twice the sum of
    the even lanes of FINE (the rule with the inner step doubled); pairwise sums in a fixed order (error
    ≤ log2(CHUNK)·ε·Σ|·|). The lanes are cleared; scratch has CHUNK // 2 entries or more."""
    for p in range(lanes.shape[1]):
        row = lanes[FINE, p]
        width = CHUNK // 2
        for i in range(width):
            scratch[i] = row[2 * i]
        while width > 1:
            width //= 2
            for i in range(width):
                scratch[i] += scratch[i + width]
        totals[N_SUMS, p] += 2.0 * scratch[0]
    for r in range(lanes.shape[0]):
        for p in range(lanes.shape[1]):
            row = lanes[r, p]
            width = CHUNK
            while width > 1:
                width //= 2
                for i in range(width):
                    row[i] += row[i + width]
            totals[r, p] += row[0]
            for i in range(CHUNK):
                row[i] = 0.0


@njit
def line_setup(base, u, mu, w, nu, pi, xb, A_s, A_t, G_s, G_t, fns):
    """The logits at the line's base (A_s (K, 1), A_t (J, 1)) and their slopes along u (G_s, G_t), from
    the generated functions; xb (d, 1): scratch. (The LineWork fields one by one: a compiled call increfs
    every array of a tuple argument, and this runs once per line.)"""
    for a in range(base.shape[0]):
        xb[a, 0] = base[a]
    fns.student_logits(1, xb, mu, w, A_s)
    fns.teacher_logits(1, xb, nu, pi, A_t)
    fns.student_slopes(base, u, mu, G_s)
    fns.teacher_slopes(base, u, nu, G_t)


@njit
def line_sum(base, u, h, m, weight, outer, c_round, c_logit, mu, nu, work, fns):
    """Add the rule along the line base + t u (module docstring), after ``line_setup``, into the lane
    sums work.lanes: m nodes on each side, line weight ``weight``, factor ``outer`` in the rule with the
    outer steps doubled; m < 0 means a single node at t = 0 of weight ``weight`` (a 0-dimensional
    reduced space). The rounding factor of a node is c_round + c_logit·(its logits' magnitude).
    Returns the number of nodes."""
    single = m < 0
    m = max(m, 0)
    A_s = work.A_s[:, 0]
    A_t = work.A_t[:, 0]
    t = work.t
    wt = work.wt
    # every field read once, into locals (a tuple field read in the loop costs a refcount pair each time)
    mag, factor, x, r, rho, top, ssum, bits, tmax = (work.mag, work.factor, work.x, work.r, work.rho, work.top, work.ssum,
                                                     work.bits, work.tmax)
    G_s, G_t, out, maj, lanes = work.G_s, work.G_t, work.out, work.maj, work.lanes
    # node n sits at lane (n + m + shift) mod CHUNK: even nodes on even lanes
    shift = m % 2
    N = 2 * m + 1 + shift
    for start in range(0, N, CHUNK):
        nc = min(CHUNK, N - start)
        n_pad = (nc + 7) // 8 * 8
        first = start - m - shift  # the node index n at lane 0 of this chunk
        for i in range(n_pad):
            t[i] = (first + min(max(i, shift - start), nc - 1)) * h
        for i in range(n_pad):
            mag[i] = 0.0
        softmax_line(A_s, G_s, t, n_pad, r, top, ssum, bits, mag, tmax)
        softmax_line(A_t, G_t, t, n_pad, rho, top, ssum, bits, mag, tmax)
        for a in range(base.shape[0]):
            row = x[a]
            b_a, u_a = base[a], u[a]
            for i in range(n_pad):
                row[i] = b_a + u_a * t[i]
        if single:
            for i in range(n_pad):
                wt[i] = weight if start + i == shift else 0.0
        else:
            for i in range(n_pad):
                wt[i] = -0.5 * t[i] * t[i]
            exp_nonpositive(wt, bits, n_pad)
            c0 = weight * h * INV_SQRT_2PI
            for i in range(n_pad):
                wt[i] = c0 * wt[i] if shift <= start + i < N else 0.0
        for i in range(n_pad):
            factor[i] = wt[i] * (c_round + c_logit * mag[i])
        fns.integrand(n_pad, x, mu, nu, r, rho, out)
        fns.majorant(n_pad, x, mu, nu, r, rho, maj)
        accumulate(n_pad, wt, factor, outer, out, maj, lanes)
    return 2 * m + 1
