"""The trapezoid rule along one line: the inner loop of the quadrature (docs/theory.md, "Quadrature").

Along the line x(t) = b + t u (u a unit vector) every logit is a_k(b) + G_k t − t²/2 with
G_k = ⟨∇a_k(b), u⟩, and the −t²/2 is common to all components of a mixture, so the responsibilities
are softmax_k(A_k + G_k t), computed at each node relative to the largest logit there (log-sum-exp
form). The nodes are t_n = n h, |n| ≤ m, with weights ω·h·φ(t_n) (φ the standard normal density, ω
the weight of the line); the nodes with even n form the rule of step 2h and those with n ≡ 0 (mod 4)
the rule of step 4h, whose sums come for free.

Points are processed in chunks of CHUNK, with every step a loop over the points of the chunk that
touches one row at a time, so that it vectorises: the logits, the exponentials (``exp_nonpositive``,
a polynomial with Cody–Waite reduction: no library call), the normalisation, the generated integrand
and its majorant. The lines of one component fill the chunks one after the other (``line_append``;
in d = 3 a line has ~30 nodes, and a chunk per line left the vector loops mostly empty). Sums are
kept in CHUNK lanes (lane = position in the chunk) and reduced in a fixed order once per component
(``reduce_lanes``): nothing is reassociated, so a result depends on its inputs only, bit for bit,
whatever batch it sits in. The differences Q_h − Q_2h and Q_2h − Q_4h of each line enter the error
estimate weighted by the line's own strip factors (rows INNER and INNER4; docs/theory.md, "Error
bounds"). The generated functions of the size at hand come in ``fns`` (``rfisher.compiled.Generated``).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from rfisher.compiled import fma, njit, unowned

#: Points per call of the generated integrand, and lanes of the sums (a multiple of 8 for the vector units).
CHUNK = 128
INV_SQRT_2PI = 0.3989422804014327
#: Below this argument ``exp_nonpositive`` returns 0 (exp(−708) ≈ 3e−308: the absolute error it makes).
EXP_FLOOR = -708.0
#: Accuracy of ``exp_nonpositive``, in units of ε (checked against math.exp in tests/test_quadrature.py).
EXP_ULPS = 2

#: Rows of the lane sums: the rule; Σ w|f|; the rounding bound Σ w·maj f·(depth + logit magnitude); the
#: lines of even outer index (times 2^(s−1): the rule with the outer steps doubled; the Gauss–Hermite pair
#: puts its check rule here); the lines of outer index ≡ 0 (mod 4) (times 4^(s−1): the rule with the outer
#: steps quadrupled); Σ_lines ρ₁(Q_h − Q_2h) and Σ_lines ρ₂(Q_2h − Q_4h) along the lines, ρ₁, ρ₂ each
#: line's estimate factors (``line_append``). Rows that are reduced together are adjacent (``reduce_rows``).
FINE, ABS, ROUND, OUTER, OUTER4, INNER, INNER4 = 0, 1, 2, 3, 4, 5, 6
N_SUMS = 7

LineWork = namedtuple("LineWork", "xb A_s G_s A_t G_t t top bits fbits mag tmax terms_s terms_t x r rho out maj "
                                   "wt gauss factor lanes used wline coefs live segs fill")

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.44269504088896338700e00
# Taylor coefficients 1/k!, k = 2..12: |r| ≤ ln2/2 makes the truncation below ε/4
_C = (0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800,
      1.0 / 39916800, 1.0 / 479001600)


@njit
def exp_nonpositive(a, k, bits, fbits, n):
    """a[k, i] ← exp(a[k, i]) for a[k, i] ≤ 0 and i < n, in place (0 below EXP_FLOOR): x = j ln2 + r,
    |r| ≤ ln2/2, exp(r) by its Taylor polynomial in fused multiply-adds (``rfisher.compiled.fma``: exactly
    rounded, so the same bits everywhere), 2^j assembled from its bits (0 bits give 0.0); fbits is bits
    viewed as float64. Pure arithmetic on one row: it vectorises. (Rows are indexed, never sliced: a slice
    is a new array, and numba counts references to it with atomic operations.)"""
    for i in range(n):
        v = a[k, i]
        below = v < EXP_FLOOR
        v = max(v, EXP_FLOOR)
        j = math.floor(v * _LOG2E + 0.5)
        r = (v - j * _LN2_HI) - j * _LN2_LO
        p = _C[10]
        for c in range(9, -1, -1):
            p = fma(p, r, _C[c])
        a[k, i] = 1.0 + fma(r * r, p, r)
        bits[i] = 0 if below else (np.int64(j) + 1023) << 52
    for i in range(n):
        a[k, i] *= fbits[i]


@njit
def line_work(K, J, d, P):
    """Scratch arrays for ``line_append`` (allocated once per call of the quadrature), as (owners, work):
    work holds unowned views (``rfisher.compiled.unowned``: no reference counting in the inner calls),
    owners the arrays themselves, which the caller keeps alive (``rfisher.compiled.hold``) while it uses
    work. fbits is bits viewed as float64 (``exp_nonpositive``); used[0] counts the lanes in use
    (``accumulate``); the lanes start at 0; fill[0] counts the nodes of the pending chunk (``line_append``),
    wline and coefs (2, CHUNK) hold their line weights and their coefficients in the rows INNER and INNER4,
    live[j] is 1 when row j of coefs is not all 0 (the others are skipped: an estimate row a chunk does not
    use costs nothing), and segs (CHUNK + 1, 3) the runs of positions of lines of even outer index (start,
    end, 1 if the index is ≡ 0 mod 4), their number in segs[CHUNK, 0]."""
    xb, A_s, G_s, A_t, G_t = np.empty((d, 1)), np.empty((K, 1)), np.empty(K), np.empty((J, 1)), np.empty(J)
    t, top, bits = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK, dtype=np.int64)
    mag, tmax, terms_s, terms_t = np.empty(CHUNK), np.empty(CHUNK), np.empty((K, CHUNK)), np.empty((J, CHUNK))
    x, r, rho = np.empty((d, CHUNK)), np.empty((K, CHUNK)), np.empty((J, CHUNK))
    out, maj = np.empty((P, CHUNK)), np.empty((P, CHUNK))
    wt, gauss, factor, lanes = np.empty(CHUNK), np.empty((1, CHUNK)), np.empty(CHUNK), np.zeros((N_SUMS, P, CHUNK))
    used, wline, coefs, fill = np.zeros(1, dtype=np.int64), np.zeros(CHUNK), np.zeros((2, CHUNK)), np.zeros(1, dtype=np.int64)
    live, segs = np.zeros(2, dtype=np.int64), np.zeros((CHUNK + 1, 3), dtype=np.int64)
    owners = (xb, A_s, G_s, A_t, G_t, t, top, bits, mag, tmax, terms_s, terms_t, x, r, rho, out, maj, wt, gauss,
              factor, lanes, used, wline, coefs, live, segs, fill)
    work = LineWork(unowned(xb), unowned(A_s), unowned(G_s), unowned(A_t), unowned(G_t), unowned(t), unowned(top),
                    unowned(bits), unowned(bits.view(np.float64)), unowned(mag), unowned(tmax),
                    unowned(terms_s), unowned(terms_t), unowned(x), unowned(r), unowned(rho), unowned(out),
                    unowned(maj), unowned(wt), unowned(gauss), unowned(factor), unowned(lanes), unowned(used),
                    unowned(wline), unowned(coefs), unowned(live), unowned(segs), unowned(fill))
    return owners, work


@njit
def softmax_terms(a, terms, n, top, tmax, bits, fbits, mag):
    """a (components, ≥ n) holds logits at n points and terms (components, ≥ n) the magnitude T_k of the
    terms each was computed from: replace the logits by the responsibilities (log-sum-exp form) and add to
    mag[i] 2(Σ_k r_k T_k + (1 − 2 r_max) T_max), T_max that of the largest responsibility. Each logit is
    computed with an error of at most 2ε T_k, the difference to the largest one is exact for the largest
    itself, so the relative error of the responsibilities is at most ε times 2Σ_{k≠top} r_k (T_k + T_top)
    = that bound (used by the quadrature's rounding term). top, tmax: scratch (n,); bits: int64 scratch
    (n,) and fbits its float64 view."""
    K = a.shape[0]
    if K == 1:
        for i in range(n):
            a[0, i] = 1.0
        return
    for i in range(n):
        top[i] = a[0, i]
    for k in range(1, K):
        for i in range(n):
            top[i] = max(top[i], a[k, i])
    for i in range(n):
        tmax[i] = 0.0  # the running sum of the exponentials, then T of the largest responsibility
    for k in range(K):
        below = True  # a component below every other by more than −EXP_FLOOR over the chunk: r_k = 0 there
        for i in range(n):
            a[k, i] = a[k, i] - top[i]
            below &= a[k, i] < EXP_FLOOR
        if below:
            for i in range(n):
                a[k, i] = 0.0
            continue
        exp_nonpositive(a, k, bits, fbits, n)
        for i in range(n):
            tmax[i] += a[k, i]
    for i in range(n):
        tmax[i] = 1.0 / tmax[i]
    for k in range(K):
        for i in range(n):
            a[k, i] *= tmax[i]
    for i in range(n):
        top[i] = 0.0  # now the largest responsibility
        tmax[i] = 0.0
    for k in range(K):
        for i in range(n):
            r = a[k, i]
            mag[i] += 2.0 * r * terms[k, i]
            if r > top[i]:
                top[i] = r
                tmax[i] = terms[k, i]
    for i in range(n):
        mag[i] += 2.0 * (1.0 - 2.0 * top[i]) * tmax[i]


@njit
def softmax_points(a, n, log_weights, terms, top, tmax, bits, fbits, mag):
    """``softmax_terms`` for logits printed as log w_k − ||x − c_k||²/2, whose terms have magnitude
    T_k = |a_k| + 2|log w_k| ≥ |log w_k| + ||x − c_k||²/2. terms (components, ≥ n): scratch."""
    for k in range(a.shape[0]):
        lw = 2.0 * abs(log_weights[k])
        for i in range(n):
            terms[k, i] = abs(a[k, i]) + lw
    softmax_terms(a, terms, n, top, tmax, bits, fbits, mag)


@njit
def accumulate(n, wt, factor, out, maj, lanes, used):
    """Add one chunk into the lane sums (N_SUMS, P, CHUNK), rows FINE, ABS, ROUND: lane i collects the
    points at position i of every chunk, in order, so each sum is a fixed sequence of operations (no
    reassociation) and the loop vectorises. wt: node weights; factor: the rounding factor of each node
    times its weight; used[0]: the number of lanes in use, raised to n."""
    used[0] = max(used[0], n)
    for p in range(out.shape[0]):
        for i in range(n):
            v = wt[i] * out[p, i]
            lanes[FINE, p, i] += v
            lanes[ABS, p, i] += abs(v)
            lanes[ROUND, p, i] += factor[i] * maj[p, i]


@njit
def accumulate_estimates(n, wt, coefs, live, segs, out, lanes):
    """Add one chunk into the estimate rows, as ``accumulate``: INNER and INNER4 with the coefficients
    coefs (2, ≥ n) of the rows that are live (not all 0), and OUTER and OUTER4 over the runs segs of the
    lines of even outer index (``line_work``)."""
    for p in range(out.shape[0]):
        for j in range(2):
            if live[j] == 0:
                continue
            row = INNER + j
            for i in range(n):
                lanes[row, p, i] += coefs[j, i] * (wt[i] * out[p, i])
        for k in range(segs[CHUNK, 0]):
            lo, hi = np.uint64(segs[k, 0]), np.uint64(segs[k, 1])  # unsigned: see ``line_append``
            for i in range(lo, hi):
                lanes[OUTER, p, i] += wt[i] * out[p, i]
            if segs[k, 2] == 1:
                for i in range(lo, hi):
                    lanes[OUTER4, p, i] += wt[i] * out[p, i]


@njit
def lane_width(used):
    """W, the smallest power of two ≥ used[0]: the lanes a reduction adds (the others are 0: a rule of 30
    nodes does not pay for 128 lanes; W depends on the parameter set only, so the result does not depend
    on the batch)."""
    W = 2
    while W < used[0]:
        W *= 2
    return W


@njit
def reduce_rows(lanes, first, last, totals, W):
    """totals[r, p] += Σ_i lanes[r, p, i] over the first W lanes for the rows first ≤ r < last, pairwise in
    a fixed order (error ≤ log2(CHUNK)·ε·Σ|·|), and those rows cleared."""
    for r in range(first, last):
        for p in range(lanes.shape[1]):
            width = W
            while width > 1:
                width //= 2
                for i in range(width):
                    lanes[r, p, i] += lanes[r, p, i + width]
            totals[r, p] += lanes[r, p, 0]
            for i in range(W):
                lanes[r, p, i] = 0.0


@njit
def reduce_lanes(lanes, totals, used):
    """``reduce_rows`` for every row, W = ``lane_width(used)``, and used[0] reset."""
    W = lane_width(used)
    used[0] = 0
    reduce_rows(lanes, 0, lanes.shape[0], totals, W)


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
def flush(c_round, c_logit, mu, nu, work, fns):
    """Evaluate the pending chunk (work.fill[0] nodes, ``line_append``) and add it into the lane sums:
    the responsibilities from the logits A_k + G_k t of each node's line, the Gaussian weight φ(t) times
    the line's weight, the generated integrand and majorant. The rounding factor of a node is
    c_round + c_logit·(its logits' magnitude)."""
    n = work.fill[0]
    if n == 0:
        return
    work.fill[0] = 0
    n_pad = (n + 7) // 8 * 8
    t, wt, gauss, wline, coefs, mag, factor = work.t, work.wt, work.gauss, work.wline, work.coefs, work.mag, work.factor
    x, r, rho, terms_s, terms_t, top, tmax = work.x, work.r, work.rho, work.terms_s, work.terms_t, work.top, work.tmax
    bits, fbits, out, maj, lanes, used = work.bits, work.fbits, work.out, work.maj, work.lanes, work.used
    for i in range(n, n_pad):  # padding: a copy of the last node, weight 0
        t[i] = t[n - 1]
        wline[i] = 0.0
        coefs[0, i] = 0.0
        coefs[1, i] = 0.0
        for a in range(x.shape[0]):
            x[a, i] = x[a, n - 1]
        for k in range(r.shape[0]):
            r[k, i] = r[k, n - 1]
            terms_s[k, i] = terms_s[k, n - 1]
        for k in range(rho.shape[0]):
            rho[k, i] = rho[k, n - 1]
            terms_t[k, i] = terms_t[k, n - 1]
    for i in range(n_pad):
        mag[i] = 0.0
    softmax_terms(r, terms_s, n_pad, top, tmax, bits, fbits, mag)
    softmax_terms(rho, terms_t, n_pad, top, tmax, bits, fbits, mag)
    for i in range(n_pad):
        gauss[0, i] = -0.5 * t[i] * t[i]
    exp_nonpositive(gauss, 0, bits, fbits, n_pad)
    for i in range(n_pad):
        wt[i] = wline[i] * gauss[0, i]
        factor[i] = wt[i] * (c_round + c_logit * mag[i])
    fns.integrand(n_pad, x, mu, nu, r, rho, out)
    fns.majorant(n_pad, x, mu, nu, r, rho, maj)
    accumulate(n_pad, wt, factor, out, maj, lanes, used)
    accumulate_estimates(n_pad, wt, coefs, work.live, work.segs, out, lanes)
    work.live[0] = 0
    work.live[1] = 0
    work.segs[CHUNK, 0] = 0


@njit
def line_append(base, u, h, m, weight, outer, rho1, rho2, c_round, c_logit, mu, nu, work, fns):
    """Append the rule along the line base + t u (module docstring), after ``line_setup``, to the pending
    chunk, evaluating (``flush``) every chunk that fills: m nodes on each side, line weight ``weight``;
    ``outer``: 1 if the line's outer index is even, 2 if it is ≡ 0 (mod 4), else 0 (its nodes go into the
    row OUTER, and OUTER4 too); node n has the coefficient
    ρ₁·(−1)^(n+1) in INNER (Q_h − Q_2h = Σ_odd − Σ_even) and ρ₂·(2[n ≡ 2] − 2[n ≡ 0]) in INNER4
    (Q_2h − Q_4h, n mod 4), ``rho1``, ``rho2`` the line's estimate factors (``rfisher.quadrature.line_factors``);
    m < 0 means a single node at t = 0 of weight ``weight`` (a 0-dimensional reduced space). Short lines
    share chunks, so that the vector loops run full. Returns the number of nodes."""
    single = m < 0
    m = max(m, 0)
    A_s, A_t, G_s, G_t, t, wline, coefs = work.A_s, work.A_t, work.G_s, work.G_t, work.t, work.wline, work.coefs
    x, r, rho, terms_s, terms_t, fill = work.x, work.r, work.rho, work.terms_s, work.terms_t, work.fill
    c0 = weight if single else weight * h * INV_SQRT_2PI
    K, J = A_s.shape[0], A_t.shape[0]
    live, segs = work.live, work.segs
    n = -m
    while n <= m:
        # (again after every flush, which clears them)
        live[0] |= rho1 != 0.0
        live[1] |= rho2 != 0.0
        i = fill[0]
        count = min(CHUNK - i, m - n + 1)
        if outer > 0:
            k = segs[CHUNK, 0]
            segs[k, 0], segs[k, 1], segs[k, 2] = i, i + count, outer - 1
            segs[CHUNK, 0] = k + 1
        # unsigned positions: numba checks a signed index for wrap-around, which stops the loops vectorising
        lo, hi = np.uint64(i), np.uint64(i + count)
        first = n - i  # the node index at position q is first + q
        for q in range(lo, hi):
            k = first + np.int64(q)
            t[q] = k * h
            wline[q] = c0
            odd = (k & 1) == 1
            coefs[0, q] = rho1 if odd else -rho1
            coefs[1, q] = 0.0 if odd else (2.0 * rho2 if (k & 3) == 2 else -2.0 * rho2)
        for a in range(base.shape[0]):
            b_a, u_a = base[a], u[a]
            for q in range(lo, hi):
                x[a, q] = b_a + u_a * t[q]
        for k in range(K):
            a_k, g_k = A_s[k, 0], G_s[k]
            for q in range(lo, hi):
                r[k, q] = a_k + g_k * t[q]
                terms_s[k, q] = abs(a_k) + abs(g_k * t[q])
        for k in range(J):
            a_k, g_k = A_t[k, 0], G_t[k]
            for q in range(lo, hi):
                rho[k, q] = a_k + g_k * t[q]
                terms_t[k, q] = abs(a_k) + abs(g_k * t[q])
        fill[0] = i + count
        n += count
        if fill[0] == CHUNK:
            flush(c_round, c_logit, mu, nu, work, fns)
    return 2 * m + 1
