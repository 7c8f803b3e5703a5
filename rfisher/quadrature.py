"""Error-controlled quadrature for Gaussian-mixture expectations (docs/theory.md, "Quadrature").

An expectation under a mixture is a sum of Gaussian expectations,
E_{Σ w_c N(c, I)}[f] = Σ_c w_c E_{z~N(0,I)}[f(c + z)], and each Fisher integrand depends on z only
through its projection y on the span S of the differences of means (``rfisher.reduction``): a
d-dimensional integral is an s-dimensional one, s ≤ min(d, K + J − 2), exactly.

**The rule** (``rfisher.planning`` has the model). For each component c: an inner direction v in S,
a trapezoid grid over the outer axes (the complement of v) with steps from the Gaussian limit
penalised by how obliquely v crosses the transitions, and along each outer node's line a trapezoid
rule whose step is planned from the transitions that line crosses (``rfisher.lines``), all cut to
the disk ||y|| ≤ L. The nodes follow the transitions: a line far from every transition gets the
Gaussian's step, and no axis inherits the sharpest transition's step everywhere.

**Error estimate** (docs/theory.md, "Error bounds"). The nodes of the rules with the inner step doubled
and quadrupled are every second and every fourth node of each line, those of the rules with the outer
steps doubled and quadrupled the lines of even and of ≡ 0 (mod 4) outer index; one pass gives all the
differences D₁ = Q_h − Q_2h and D₂ = Q_2h − Q_4h. For an integrand analytic in a strip of half-width a,
halving a step from 2h to h divides the error by at least 1/ρ(h) (``rfisher.planning.strip_ratio``), so

    error = Σ M ρ(h) (|D₁| + ρ(2h)|D₂|)  (inner and outer)  + rounding + tail  ≥  |T − I|,

with a from the transitions that carry mass (``line_factors``) and M = ESTIMATE_MARGIN. ``rounding``
bounds the floating-point error everywhere, also where the value is exactly 0 (student = teacher, where the integrand is
pure cancellation): per node the generated majorant maj f with the evaluation depth of the printed
code (derivations/rounding.py), plus the error of the inputs, of the node weights and of the sums.
``tail`` bounds what lies beyond the disk (``rfisher.planning.tail_one``). A parameter set whose
error exceeds rtol·scale + atol is refined (the inner or outer steps, whichever estimate is too large,
times the factor the error model predicts reaches a quarter of the share, ``rfisher.planning.refine_factor``,
or a wider disk) up to ``max_refine`` times, and flagged if it still fails; the scale is
Σ|w f| for the objective and the largest Σ|w f| over the gradient's entries for each gradient entry
(norm-wise relative error of the gradient: ``group_scale``).
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from rfisher import compiled, lines, validation
from rfisher.compiled import hold, njit, unowned
from rfisher.lines import (
    ABS,
    FINE,
    INNER,
    INNER4,
    N_SUMS,
    OUTER,
    OUTER4,
    ROUND,
    accumulate,
    flush,
    lane_width,
    line_append,
    line_setup,
    line_work,
    reduce_rows,
    softmax_points,
)
from rfisher.mixture import as_batch
from rfisher.planning import (
    EPS,
    ESTIMATE_MARGIN,
    MAX_LINE_NODES,
    MAX_STEP,
    REFINE_AIM,
    TAIL_SHARE,
    complement,
    gaussian_step,
    inner_direction,
    line_step,
    model_factor,
    outer_steps,
    radius,
    refine_factor,
    strip_ratio,
    strip_width,
    tail_one,
    tolerance_log,
    transitions,
)
from rfisher.reduction import basis_one

OBJECTIVES = ("forward", "reverse")
#: Rounding of a node's inputs, in units of ε per unit of the majorant, besides the logits: the coordinates
#: (2 operations), the exponential (EXP_ULPS), the normalisation (3), times the degree 3 of each output
#: in them. The logits add LOGIT_ULPS per unit of their magnitude along the line (``component_sum``).
INPUT_ULPS = 3 * (2 + lines.EXP_ULPS + 3)
#: The responsibilities' relative error is at most ε times the logits' magnitude (rfisher.lines.softmax_terms);
#: times the degree 3 of each output in them.
LOGIT_ULPS = 3
#: Rounding of a node's weight (an exponential and three products) and of adding w·f in, in units of ε
#: per unit of Σ|w f|; the lane, line and component sums add their lengths.
WEIGHT_ULPS = lines.EXP_ULPS + 6
#: Default largest number of nodes per parameter set and pass (docs/theory.md, "Work limits").
MAX_NODES = 50_000_000
#: Smooth integrands (every transition carrying mass has its poles at least ``gh_pole(rtol)`` from the
#: real axis) are integrated by the tensor Gauss–Hermite rule with GH_POINTS points per axis, its error
#: estimated by the rule with GH_CHECK points (docs/theory.md, "Quadrature"). The pair's relative error
#: estimate falls like exp(−GH_DECAY·A) with the pole distance A = π/γ (measured, K = 2, d = 1: 7e−6 at
#: A = 3.1, 4e−8 at 4.2, 2e−11 at 6.3, 4e−13 at 7.9), so it is tried from A = ln(1/rtol)/GH_DECAY on (and
#: never below GH_POLE): closer poles make it fail and cost a wasted pass.
GH_POINTS, GH_CHECK, GH_POLE, GH_DECAY = 16, 12, 3.0, 3.5
#: A failed tail check widens the disk by BOOST in L² (the tail bound falls by about e^(−BOOST/2)).
BOOST = 8.0
#: Largest factor a trajectory's step factors grow by from one evaluation to the next, and the largest
#: they reach (``next_plan``; docs/theory.md, "Work limits").
GROW_MAX, PLAN_MAX = 1.05, 2.0


def _hermite(n: int):
    """Nodes and weights of the n-point Gauss–Hermite rule for E_{y~N(0,1)}."""
    x, wts = np.polynomial.hermite.hermgauss(n)
    return np.ascontiguousarray(x * math.sqrt(2.0)), np.ascontiguousarray(wts / math.sqrt(math.pi))


def _hermite_pair(rank: int):
    """The tensor rules of GH_POINTS and of GH_CHECK points per axis in R^rank, one after the other:
    nodes (GH_POINTS^rank + GH_CHECK^rank, rank) and the weight of each in its own rule."""
    nodes, weights = [], []
    for n in (GH_POINTS, GH_CHECK):
        x, wts = _hermite(n)
        grid = np.stack(np.meshgrid(*[x] * rank, indexing="ij"), axis=-1).reshape(-1, rank)
        nodes.append(grid)
        weights.append(np.prod(np.stack(np.meshgrid(*[wts] * rank, indexing="ij"), axis=-1).reshape(-1, rank), axis=1))
    return np.ascontiguousarray(np.concatenate(nodes)), np.ascontiguousarray(np.concatenate(weights))


#: The Gauss–Hermite pairs in reduced dimension 0 (one node each, weight 1), 1, 2, 3 (tables, so that no
#: node is decoded at run time).
GH_NODES_0, GH_WEIGHTS_0 = np.zeros((2, 1)), np.ones(2)
GH_NODES_1, GH_WEIGHTS_1 = _hermite_pair(1)
GH_NODES_2, GH_WEIGHTS_2 = _hermite_pair(2)
GH_NODES_3, GH_WEIGHTS_3 = _hermite_pair(3)

#: Rows of a pass's totals after the lane rows (``rfisher.lines``): the inner and the outer error estimates.
EST_IN, EST_OUT = N_SUMS, N_SUMS + 1

PlanWork = namedtuple("PlanWork", "basis alpha_s alpha_t normals gammas lams offsets v trial frame steps u outer base "
                                   "totals tail mu_c nu_c logw_s logw_t diffs vec ctot")


@dataclass
class QuadratureResult:
    """Integrals of [||e||², gradient entries] for a batch, each with a conservative error.

    value (B, P): the rule; error (B, P): the estimate described in the module docstring (≥ the true
    error); scale (B, P): Σ|w f| per output; nodes (B,): nodes used in the last pass; converged (B,):
    finite and error ≤ rtol·group_scale(scale) + atol for every output; objective: "forward" or "reverse".
    """

    value: np.ndarray
    error: np.ndarray
    scale: np.ndarray
    nodes: np.ndarray
    converged: np.ndarray
    objective: str
    rtol: float
    atol: float


def group_scale(scale: np.ndarray) -> np.ndarray:
    """The scale each output's error is measured against: the value's own Σ|w f| for output 0,
    and the largest Σ|w f| over the gradient entries for the gradient (norm-wise relative error,
    so an entry that is 1e−57 because its component is far away needs no 57 digits)."""
    out = np.empty_like(scale)
    out[..., :1] = scale[..., :1]
    if scale.shape[-1] > 1:
        out[..., 1:] = np.max(scale[..., 1:], axis=-1, keepdims=True)
    return out


def teacher_shift(teacher_means, teacher_weights):
    """Σ_j π_j ν_j per parameter set, (B, 1, d)."""
    # an explicit sum over the J components: elementwise, so the shift of one parameter set does not
    # depend on the batch it sits in (einsum's summation order can)
    shift = teacher_weights[:, 0, None] * teacher_means[:, 0]
    for j in range(1, teacher_means.shape[1]):
        shift = shift + teacher_weights[:, j, None] * teacher_means[:, j]
    return shift[:, None, :]


def centered(means, teacher_means, teacher_weights):
    """Translate so the teacher's mean Σ π_j ν_j is the origin (values and gradients are invariant;
    it avoids cancellation in e = m_θ − m_p far from the origin)."""
    shift = teacher_shift(teacher_means, teacher_weights)
    return np.ascontiguousarray(means - shift), np.ascontiguousarray(teacher_means - shift)


# --- the compiled driver (templates specialised per size by rfisher.compiled) -----------------------


@njit
def plan_work(K, J, d):
    """Scratch arrays for the planning of one parameter set (allocated once per batch), as (owners,
    work): unowned views and the arrays the caller keeps alive, as ``rfisher.lines.line_work``."""
    T = K * (K - 1) // 2 + J * (J - 1) // 2 + 1
    basis, alpha_s, alpha_t, normals = np.empty((d, d)), np.empty((K, 1)), np.empty((J, 1)), np.zeros((T, 3))
    gammas, lams, offsets, v, trial = np.empty(T), np.empty(T), np.empty(T), np.empty(3), np.empty(3)
    frame, steps, u, outer, base = np.zeros((3, 2)), np.ones(2), np.empty(d), np.zeros((d, 2)), np.empty(d)
    totals, tail, mu_c, nu_c = np.zeros((N_SUMS + 2, 1 + K * d)), np.empty(1 + K * d), np.empty((K, d)), np.empty((J, d))
    logw_s, logw_t, diffs, vec = np.empty(K), np.empty(J), np.empty((max(K + J - 2, 1), d)), np.empty(d)
    ctot = np.zeros((N_SUMS, 1 + K * d))
    owners = (basis, alpha_s, alpha_t, normals, gammas, lams, offsets, v, trial, frame, steps, u, outer, base, totals, tail,
              mu_c, nu_c, logw_s, logw_t, diffs, vec, ctot)
    work = PlanWork(unowned(basis), unowned(alpha_s), unowned(alpha_t), unowned(normals), unowned(gammas), unowned(lams),
                    unowned(offsets), unowned(v), unowned(trial), unowned(frame), unowned(steps), unowned(u),
                    unowned(outer), unowned(base), unowned(totals), unowned(tail), unowned(mu_c), unowned(nu_c),
                    unowned(logw_s), unowned(logw_t), unowned(diffs), unowned(vec), unowned(ctot))
    return owners, work


@njit
def centre_frame(c, centers, cweights, mu, w, nu, pi, rank, lam0, mu_c, nu_c, xb, alpha_s, alpha_t, basis, normals,
                 gammas, lams, offsets, fns):
    """The means in coordinates centred at component c (mu_c, nu_c: every output is invariant under
    translating x and all means together), the logits at c (alpha_s, alpha_t), and the transitions that
    carry mass for c (``rfisher.planning.transitions``: normals, gammas, lams, offsets); returns their
    number. At rank 0 only the centred means (no transitions, no logits). The scratch arrays come one
    by one, not as the PlanWork and LineWork bundles: a compiled call increfs and decrefs every array
    of a tuple argument (atomic operations), and this runs several times per evaluation."""
    K, D = mu.shape
    for k in range(K):
        for a in range(D):
            mu_c[k, a] = mu[k, a] - centers[c, a]
    for k in range(nu.shape[0]):
        for a in range(D):
            nu_c[k, a] = nu[k, a] - centers[c, a]
    if rank == 0:  # no transitions to find: the logits are not needed
        return 0
    for a in range(D):
        xb[a, 0] = 0.0
    fns.student_logits(1, xb, mu_c, w, alpha_s)
    fns.teacher_logits(1, xb, nu_c, pi, alpha_t)
    return transitions(mu_c, nu_c, alpha_s[:, 0], alpha_t[:, 0], basis, rank, math.log(cweights[c]), lam0, normals, gammas,
                       lams, offsets)


@njit
def gh_pole(rtol):
    """The pole distance π/γ from which the Gauss–Hermite pair is tried: ln(1/rtol)/GH_DECAY, at least
    GH_POLE (docs/theory.md, "Quadrature"). A planning choice only: the pair's own error estimate
    decides whether its result is kept."""
    return max(GH_POLE, math.log(1.0 / rtol) / GH_DECAY)


@njit
def _widest_pair(means):
    """The largest distance between two rows of means (n, d)."""
    widest = 0.0
    for k in range(means.shape[0]):
        for l in range(k + 1, means.shape[0]):
            s = 0.0
            for a in range(means.shape[1]):
                s += (means[k, a] - means[l, a]) ** 2
            widest = max(widest, math.sqrt(s))
    return widest


@njit
def smooth(centers, cweights, mu, w, nu, pi, rank, lam0, pole, mu_c, nu_c, xb, alpha_s, alpha_t, basis, normals, gammas,
           lams, offsets, fns):
    """True if for every component every transition carrying mass has its poles at least ``pole`` from
    the real axis (π/γ ≥ pole): the integrand is then analytic in a wide strip around the whole reduced
    space, and the Gauss–Hermite rule converges fast. The scratch of ``centre_frame``, one by one.

    First the test that needs no transitions: every γ is a distance between two means of one mixture, so
    if the widest such distance γ_max has π/γ_max ≥ pole, every transition passes (the common case near
    convergence, where it saves computing the logits and transitions of every component)."""
    widest = max(_widest_pair(mu), _widest_pair(nu))
    if widest * pole <= math.pi:
        return True
    for c in range(centers.shape[0]):
        T = centre_frame(c, centers, cweights, mu, w, nu, pi, rank, lam0, mu_c, nu_c, xb, alpha_s, alpha_t, basis, normals,
                         gammas, lams, offsets, fns)
        for t in range(T):
            if math.pi / gammas[t] < pole:
                return False
    return True


@njit
def hermite_sum(centers, cweights, mu, w, nu, pi, rank, depth, pw, work, fns):
    """Add the tensor Gauss–Hermite rules with GH_POINTS and GH_CHECK points per axis of the reduced
    space into pw.totals, component by component, in one pass (each component's nodes are planned and
    evaluated once for both): the GH_POINTS rule in the rows FINE, ABS, ROUND, the GH_CHECK rule in the
    row OUTER. Returns the number of nodes of the GH_POINTS rule. (All components in one call: a
    compiled call increfs every array of its tuple arguments.)"""
    D = mu.shape[1]
    main = GH_POINTS**rank
    total = main + GH_CHECK**rank
    # every field read once, into locals (a tuple field read in the loops costs a refcount pair each time)
    logw_s, logw_t, basis, mu_c, nu_c, totals = pw.logw_s, pw.logw_t, pw.basis, pw.mu_c, pw.nu_c, pw.totals
    alpha_s, alpha_t, normals, gammas, lams, offsets = pw.alpha_s, pw.alpha_t, pw.normals, pw.gammas, pw.lams, pw.offsets
    x, wts, check, mag, factor, xb = work.x, work.wt, work.t, work.mag, work.factor, work.xb
    lanes, used = work.lanes, work.used
    r, rho, terms_s, terms_t, top, tmax = work.r, work.rho, work.terms_s, work.terms_t, work.top, work.tmax
    bits, fbits, out, maj = work.bits, work.fbits, work.out, work.maj
    for k in range(w.shape[0]):
        logw_s[k] = math.log(w[k])
    for k in range(pi.shape[0]):
        logw_t[k] = math.log(pi[k])
    if rank == 0:
        table, table_w = GH_NODES_0, GH_WEIGHTS_0
    elif rank == 1:
        table, table_w = GH_NODES_1, GH_WEIGHTS_1
    elif rank == 2:
        table, table_w = GH_NODES_2, GH_WEIGHTS_2
    else:
        table, table_w = GH_NODES_3, GH_WEIGHTS_3
    for c in range(centers.shape[0]):
        # the centred means only (rank 0: ``smooth`` has already looked at the transitions)
        centre_frame(c, centers, cweights, mu, w, nu, pi, 0, 0.0, mu_c, nu_c, xb, alpha_s, alpha_t, basis, normals,
                     gammas, lams, offsets, fns)
        wc = cweights[c]
        for start in range(0, total, lines.CHUNK):
            n = min(lines.CHUNK, total - start)
            n_pad = (n + 7) // 8 * 8
            for a in range(D):
                for i in range(n_pad):
                    y = 0.0
                    for b in range(rank):
                        y += basis[a, b] * table[start + min(i, n - 1), b]
                    x[a, i] = y
            for i in range(n_pad):
                flat = start + i
                weight = wc * table_w[start + min(i, n - 1)]
                wts[i] = weight if flat < main else 0.0
                check[i] = weight if main <= flat < total else 0.0
                mag[i] = 0.0
            fns.student_logits(n_pad, x, mu_c, w, r)
            softmax_points(r, n_pad, logw_s, terms_s, top, tmax, bits, fbits, mag)
            fns.teacher_logits(n_pad, x, nu_c, pi, rho)
            softmax_points(rho, n_pad, logw_t, terms_t, top, tmax, bits, fbits, mag)
            for i in range(n_pad):
                factor[i] = wts[i] * (depth + INPUT_ULPS + LOGIT_ULPS * mag[i])
            fns.integrand(n_pad, x, mu_c, nu_c, r, rho, out)
            fns.majorant(n_pad, x, mu_c, nu_c, r, rho, maj)
            accumulate(n_pad, wts, factor, out, maj, lanes, used)
            for p in range(out.shape[0]):
                for i in range(n_pad):
                    lanes[OUTER, p, i] += check[i] * out[p, i]
    W = lane_width(used)
    used[0] = 0
    reduce_rows(lanes, FINE, OUTER + 1, totals, W)  # the rows the pair uses
    return main * centers.shape[0]


@njit
def hermite(centers, cweights, mu, w, nu, pi, rank, rtol, atol, depth, value, error, scale, pw, work, fns):
    """The Gauss–Hermite rule with GH_POINTS per axis and its error |Q − Q_check| + rounding, for a smooth
    integrand (``smooth``); returns (nodes, converged, floor), floor: the rounding bound alone exceeds an
    allowance (no rule can then meet the tolerance). No tail: the rule covers the whole space."""
    C = centers.shape[0]
    P = value.shape[0]
    tot = pw.totals
    for r in range(OUTER + 1):  # the rows the pair uses (a loop: a slice assignment is a memset call)
        for p in range(P):
            tot[r, p] = 0.0
    nodes = hermite_sum(centers, cweights, mu, w, nu, pi, rank, depth, pw, work, fns)
    # a lane adds one term per chunk of every component, then a pairwise sum of depth log2(CHUNK) = 7
    sums = C * ((GH_POINTS**rank + GH_CHECK**rank) // lines.CHUNK + 1) + 7
    gmax = 0.0
    for p in range(1, P):
        gmax = max(gmax, tot[ABS, p])
    ok = True
    floor = False
    for p in range(P):
        value[p] = tot[FINE, p]
        scale[p] = tot[ABS, p]
        rounding = EPS * (tot[ROUND, p] + (WEIGHT_ULPS + sums) * tot[ABS, p])
        error[p] = abs(tot[FINE, p] - tot[OUTER, p]) + rounding
        allowed = rtol * (tot[ABS, 0] if p == 0 else gmax) + atol
        if not (error[p] <= allowed and math.isfinite(value[p])):
            ok = False
        floor = floor or rounding > allowed
    return nodes, ok, floor


@njit
def component_sum(c, centers, cweights, mu, w, nu, pi, rank, L, lam0, shrink_in, shrink_out, depth, pw, work, fns,
                  max_nodes):
    """Add the rule for component c into the lane sums (``rfisher.lines``; the caller reduces FINE, ABS and
    ROUND once per pass, FINE here when the outer estimate needs it) and its error estimates into the
    rows EST_IN and EST_OUT of pw.totals (the module docstring); returns (nodes, longest line, lines), or
    nodes = −1 past ``max_nodes`` (the lane sums are then left as they are).

    The lines are evaluated in coordinates centred at c (every output is invariant under translating x
    and all means together): the terms of the integrand, and so its rounding, are then of the size of
    y and of the distances to c, not of c itself."""
    s = rank
    T = centre_frame(c, centers, cweights, mu, w, nu, pi, rank, lam0, pw.mu_c, pw.nu_c, work.xb, pw.alpha_s, pw.alpha_t,
                     pw.basis, pw.normals, pw.gammas, pw.lams, pw.offsets, fns)
    K, D = mu.shape
    J = nu.shape[0]
    mu = pw.mu_c
    nu = pw.nu_c
    log_w = math.log(cweights[c])
    if s >= 1:
        inner_direction(pw.normals, pw.gammas, pw.lams, T, s, pw.v, pw.trial)
        complement(pw.v, s, pw.frame)
        outer_steps(pw.v, pw.frame, pw.normals, pw.gammas, pw.lams, pw.offsets, T, s, log_w, lam0, pw.steps)
    u, outer_axes, basis, v, frame, base, steps = pw.u, pw.outer, pw.basis, pw.v, pw.frame, pw.base, pw.steps
    for a in range(D):
        u[a] = 0.0
        outer_axes[a, 0] = 0.0
        outer_axes[a, 1] = 0.0
        for b in range(s):
            u[a] += basis[a, b] * v[b]
        for o in range(s - 1):
            outer_axes[a, o] = 0.0
            for b in range(s):
                outer_axes[a, o] += basis[a, b] * frame[b, o]
    h_limit = 0.25 * gaussian_step(lam0)  # the longest step whose 4h rule the Gaussian alone lets meet the tolerance
    # each outer axis: its step under the plan's factor, and the factors of the outer estimate, as for a line
    # (``line_factors``) with the strip of the transitions that carry mass for c along the axis
    rho_out1 = 0.0
    rho_out2 = 0.0
    every_guarded = True
    for o in range(s - 1):
        planned = steps[o]
        steps[o] = grown_step(planned, shrink_out, h_limit)
        spread = 0.0
        for t in range(T):
            beta = 0.0
            for e in range(s):
                beta += pw.normals[t, e] * frame[e, o]
            spread = max(spread, pw.gammas[t] * abs(beta))
        r1, r2 = line_factors(spread, steps[o], planned, h_limit)
        rho_out1 = max(rho_out1, r1)
        rho_out2 = max(rho_out2, r2)
        every_guarded = every_guarded and r2 > 0.0
    if not every_guarded:  # the rows double and quadruple every outer step at once: an axis without its guard
        rho_out2 = 0.0     # would have its own 4h rule in that row, so the guard is dropped for all
    h_gauss = min(0.5 * gaussian_step(lam0), MAX_STEP)
    xb, A_s, A_t, G_s, G_t = work.xb, work.A_s, work.A_t, work.G_s, work.G_t  # read once, not per line
    c0 = int(math.floor(L / steps[0])) if s >= 2 else 0
    c1 = int(math.floor(L / steps[1])) if s >= 3 else 0
    n_outer = (2 * c0 + 1) * (2 * c1 + 1)
    fac_out = 2.0 ** max(s - 1, 0)
    nodes = 0
    longest = 0
    n_lines = 0
    guarded = False  # a line with the guard: the row INNER4 is not all 0
    for flat in range(n_outer):
        i0 = flat % (2 * c0 + 1) - c0
        i1 = flat // (2 * c0 + 1) - c1
        y0 = i0 * steps[0] if s >= 2 else 0.0
        y1 = i1 * steps[1] if s >= 3 else 0.0
        ysq = y0 * y0 + y1 * y1
        if ysq > L * L:
            continue
        weight = cweights[c]
        if s >= 2:
            weight *= steps[0] * 0.3989422804014327 * math.exp(-0.5 * y0 * y0)
        if s >= 3:
            weight *= steps[1] * 0.3989422804014327 * math.exp(-0.5 * y1 * y1)
        for a in range(D):
            base[a] = outer_axes[a, 0] * y0 + outer_axes[a, 1] * y1
        line_setup(base, u, mu, w, nu, pi, xb, A_s, A_t, G_s, G_t, fns)
        rho1 = 0.0
        rho2 = 0.0
        if s == 0:
            m = -1
            h = 1.0
        else:
            log_mass = log_w - 0.5 * ysq
            h_pole, spread_s = line_step(A_s, G_s, K, log_mass, lam0, math.inf)
            h_pole, spread_t = line_step(A_t, G_t, J, log_mass, lam0, h_pole)
            h = grown_step(min(h_gauss, h_pole), shrink_in, h_limit)
            m = min(int(math.floor(math.sqrt(L * L - ysq) / h)), MAX_LINE_NODES)
            rho1, rho2 = line_factors(max(spread_s, spread_t), h, h_pole, h_limit)
            guarded = guarded or rho2 != 0.0  # the condition of the row's ``live`` flag (``line_append``)
        if nodes + 2 * max(m, 0) + 1 > max_nodes:
            return -1, longest, n_lines
        # the line's place in the outer rules with the steps doubled (even index) and quadrupled (≡ 0 mod 4)
        outer = 0
        if s >= 2 and i0 % 2 == 0 and i1 % 2 == 0:
            outer = 2 if (i0 % 4 == 0 and i1 % 4 == 0) else 1
        n = line_append(base, u, h, m, weight, outer, rho1, rho2, depth + INPUT_ULPS, LOGIT_ULPS, mu, nu, work, fns)
        nodes += n
        longest = max(longest, n)
        n_lines += 1
    flush(depth + INPUT_ULPS, LOGIT_ULPS, mu, nu, work, fns)
    # the estimate rows per component (each component's differences enter in absolute value); FINE too when
    # the outer estimate needs it, else once per pass with ABS and ROUND (``integrate_one``)
    ctot, tot, lanes = pw.ctot, pw.totals, work.lanes
    W = lane_width(work.used)
    for r in range(N_SUMS):
        for p in range(ctot.shape[1]):
            ctot[r, p] = 0.0
    reduce_rows(lanes, INNER, INNER4 + 1 if guarded else INNER + 1, ctot, W)
    if s >= 2:
        reduce_rows(lanes, FINE, FINE + 1, ctot, W)
        reduce_rows(lanes, OUTER, OUTER4 + 1, ctot, W)
    for p in range(tot.shape[1]):
        tot[EST_IN, p] += abs(ctot[INNER, p]) + abs(ctot[INNER4, p])
        if s >= 2:  # T − T_2h and T_2h − T_4h of the outer rules
            tot[FINE, p] += ctot[FINE, p]
            t2 = fac_out * ctot[OUTER, p]
            tot[EST_OUT, p] += rho_out1 * abs(ctot[FINE, p] - t2) + rho_out2 * abs(t2 - fac_out * fac_out * ctot[OUTER4, p])
    return nodes, longest, n_lines


@njit
def grown_step(planned, shrink, h_limit):
    """The step of a plan factor ``shrink``: planned·shrink, and past the planned step (shrink > 1) at most
    max(planned, h_limit), the longest step whose 4h rule keeps the estimate's guard clean of the Gaussian's
    own error (``line_factors``): beyond it a grown step could not show it meets the tolerance, and the
    failed pass would cost more than the growth saves (docs/theory.md, "Work limits")."""
    if shrink <= 1.0:
        return planned * shrink
    return min(planned * shrink, max(planned, h_limit))


@njit
def line_factors(spread, h, h_pole, h_limit):
    """The factors (ρ₁, ρ₂) = (M ρ(h), M ρ(h) ρ(2h)) of a line's differences in the inner estimate (rows INNER,
    INNER4 of ``rfisher.lines``): err(h) ≤ M·ρ(h)·(|Q_h − Q_2h| + ρ(2h)|Q_2h − Q_4h|), M = ESTIMATE_MARGIN,
    ρ = ``strip_ratio`` for the strip of the poles that carry mass on the line (``strip_width`` of the
    largest slope difference of a tie with mass, ``rfisher.planning.line_step``; the others' share is
    below the tolerance by the planner's mass test). The second term guards against a
    difference |Q_h − Q_2h| that is small by an accident of phase; it is dropped (ρ₂ = 0) where it would
    measure only the Gaussian's own error of the 4h rule (h > h_limit) and the planned pole step h_pole
    already bounds the poles' share at 2h (h ≤ h_pole). Where M ρ(h) ≥ 1 (the step does not resolve the
    strip by ln M e-folds) the factors are (1, 0): |Q_h − Q_2h| itself, the estimate of the rule at step
    2h, which the strip argument would only inflate (docs/theory.md, "Error bounds")."""
    a_line = strip_width(spread)
    rho1 = ESTIMATE_MARGIN * strip_ratio(a_line, h)
    if rho1 >= 1.0:  # the step does not resolve the strip by ln M e-folds: the difference itself, as it is
        return 1.0, 0.0
    if h > h_limit and h <= h_pole:
        return rho1, 0.0
    return rho1, rho1 * strip_ratio(a_line, 2.0 * h)


@njit
def integrate_one(mu, w, nu, pi, reverse, rtol, atol, max_refine, max_nodes, depth, value, error, scale, plan, pw, work,
                  fns):
    """The rule of the module docstring for one parameter set: value, error, scale (P,) written;
    returns (nodes of the last pass, converged). ``reverse``: integrate under the student (R), else under
    the teacher (F); ``fns``, ``depth``: the generated functions of the size and their evaluation depth.

    ``plan`` (3,): in, the refinement to start the trapezoid rule from (inner and outer step factors, disk
    boost; (1, 1, 0) is the a priori plan); out, where an evaluation at nearby parameters should start
    (``next_plan``). A GD trajectory carries it from step to step, so that a refinement its integrand
    needed at one step is not paid again as a failed pass at the next (docs/theory.md, "Work limits")."""
    centers = mu if reverse else nu
    cweights = w if reverse else pi
    P = value.shape[0]
    C = centers.shape[0]
    rank = basis_one(mu, nu, False, pw.basis, pw.diffs, pw.vec)
    lam0 = tolerance_log(mu, nu, rtol)
    shrink_in = plan[0]
    shrink_out = plan[1]
    boost = plan[2]
    nodes = 0
    ok = False
    tot = pw.totals
    if rank <= 3 and smooth(centers, cweights, mu, w, nu, pi, rank, lam0, gh_pole(rtol), pw.mu_c, pw.nu_c, work.xb,
                            pw.alpha_s, pw.alpha_t, pw.basis, pw.normals, pw.gammas, pw.lams, pw.offsets, fns):
        nodes, ok, floor = hermite(centers, cweights, mu, w, nu, pi, rank, rtol, atol, depth, value, error, scale, pw, work,
                                   fns)
        if ok or floor:  # at the rounding floor the trapezoid rule cannot do better: the result stays flagged
            return nodes, ok
    for _ in range(max_refine + 1):
        L = radius(mu, nu, rtol, boost)
        tot[:, :] = 0.0
        nodes = 0
        n_lines = 0
        for c in range(C):  # the lanes are clear: every row is reduced and cleared, and a pass cut short clears them
            n, _, nl = component_sum(c, centers, cweights, mu, w, nu, pi, rank, L, lam0, shrink_in, shrink_out, depth,
                                     pw, work, fns, max_nodes - nodes)
            if n < 0:
                nodes = -1
                break
            nodes += n
            n_lines += nl
        if nodes < 0:
            ok = False
            for p in range(P):
                value[p] = np.nan
                error[p] = np.inf
                scale[p] = np.nan
            nodes = max_nodes
            work.lanes[:, :, :] = 0.0  # the cut pass's partial sums must not reach the next parameter set
            work.used[0] = 0
            work.fill[0] = 0
            work.live[0] = 0
            work.live[1] = 0
            work.segs[lines.CHUNK, 0] = 0
            plan[0], plan[1], plan[2] = 1.0, 1.0, 0.0
            break
        W = lane_width(work.used)
        work.used[0] = 0
        reduce_rows(work.lanes, FINE if rank <= 1 else ABS, ROUND + 1, tot, W)
        tail_one(reverse, centers, cweights, mu, nu, rank, L, pw.tail)
        # a lane adds one term per chunk: a component's lines share chunks, so at most nodes/CHUNK + C chunks
        # (the lines' count is kept as a margin); C − 1 additions of the components' sums (rank ≥ 2); then
        # a pairwise sum of depth log2(CHUNK) = 7
        sums = (nodes + n_lines) // lines.CHUNK + C + 1 + 7
        ok, floor, bad_tail, cut_in, cut_out, grow_in, grow_out, tail_used = assess_pass(
            tot, pw.tail, sums, rtol, atol, value, error, scale)
        if ok or floor or not (cut_in < 1.0 or cut_out < 1.0 or bad_tail):
            next_plan(plan, ok, shrink_in, shrink_out, boost, grow_in, grow_out, tail_used)
            break
        # a refined factor is at most 1 (the a priori steps): from a grown factor, a cut alone may not shorten
        # the steps ``grown_step`` capped, and the refinements could repeat the same pass
        if cut_in < 1.0:
            shrink_in = min(shrink_in * cut_in, 1.0)
        if cut_out < 1.0:
            shrink_out = min(shrink_out * cut_out, 1.0)
        if bad_tail:
            boost += BOOST
        plan[0], plan[1], plan[2] = shrink_in, shrink_out, boost  # refinements exhausted: start there next time
    return nodes, ok


@njit
def assess_pass(tot, tail, sums, rtol, atol, value, error, scale):
    """One trapezoid pass's totals (``integrate_one``) made into value, error, scale (P,), and what the
    next pass or evaluation should do: returns (ok, floor, bad_tail, cut_in, cut_out, grow_in, grow_out,
    tail_used). error = inner estimate + outer estimate + rounding + tail; ok: every error within
    rtol·scale + atol (the gradient's scale: its largest component's); floor: the rounding bound alone
    exceeds an allowance (no refinement can meet it); cut_in, cut_out: the step factors the error model
    predicts (1: the estimate is within its share); grow_in, grow_out: how far the steps may grow at the
    next evaluation (``growth_factor``); bad_tail: the tail bound is past its share; tail_used: the
    largest tail bound over its allowance. ``sums``: the additions per lane (the rounding bound's count)."""
    P = value.shape[0]
    gmax = 0.0
    for p in range(1, P):
        gmax = max(gmax, tot[ABS, p])
    ok = True
    bad_tail = False
    floor = False
    cut_in = 1.0
    cut_out = 1.0
    grow_in = GROW_MAX
    grow_out = GROW_MAX
    tail_used = 0.0
    for p in range(P):
        est_in = tot[EST_IN, p]
        est_out = tot[EST_OUT, p]
        rounding = EPS * (tot[ROUND, p] + (WEIGHT_ULPS + sums) * tot[ABS, p])
        value[p] = tot[FINE, p]
        scale[p] = tot[ABS, p]
        error[p] = est_in + est_out + rounding + tail[p]
        group = tot[ABS, 0] if p == 0 else gmax
        allowed = rtol * group + atol
        if not (error[p] <= allowed and math.isfinite(value[p])):
            ok = False
        # an estimate within twice the rounding bound is rounding noise of the two sums it compares:
        # smaller steps cannot reduce it (near student = teacher, where the value is pure cancellation)
        if est_in > 0.5 * allowed and est_in > 2.0 * rounding:
            cut_in = min(cut_in, refine_factor(est_in, REFINE_AIM * 0.5 * allowed, group))
        if est_out > 0.5 * allowed and est_out > 2.0 * rounding:
            cut_out = min(cut_out, refine_factor(est_out, REFINE_AIM * 0.5 * allowed, group))
        bad_tail = bad_tail or tail[p] > TAIL_SHARE * allowed
        floor = floor or rounding > allowed
        grow_in = min(grow_in, growth_factor(est_in, REFINE_AIM * 0.5 * allowed, group, rounding))
        grow_out = min(grow_out, growth_factor(est_out, REFINE_AIM * 0.5 * allowed, group, rounding))
        tail_used = max(tail_used, tail[p] / allowed)
    return ok, floor, bad_tail, cut_in, cut_out, grow_in, grow_out, tail_used


@njit
def next_plan(plan, ok, shrink_in, shrink_out, boost, grow_in, grow_out, tail_used):
    """Where the next evaluation of a trajectory starts (``integrate_one``'s ``plan``): the factors of the
    last pass, loosened by the growth the error model allows (``growth_factor``; never beyond PLAN_MAX times
    the a priori plan), and the disk boost less one BOOST once the tail would stay within its share without it (the
    bound grows by about e^(BOOST/2) when L² loses BOOST; e^(BOOST/2 + 1) leaves room for its polynomial
    factor). A flagged result keeps its factors: the next evaluation starts there."""
    if ok:
        shrink_in = min(PLAN_MAX, shrink_in * grow_in)
        shrink_out = min(PLAN_MAX, shrink_out * grow_out)
        if boost > 0.0 and tail_used * math.exp(0.5 * BOOST + 1.0) < TAIL_SHARE:
            boost = max(0.0, boost - BOOST)
    plan[0], plan[1], plan[2] = shrink_in, shrink_out, boost


@njit
def growth_factor(estimate, target, scale, rounding):
    """The factor a step may grow by at the next evaluation: the error model of ``refine_factor`` run the
    other way (an estimate below its target allows a larger step), at most GROW_MAX. 1 when the estimate
    is at or above its target, or is rounding noise (no information about the step)."""
    if not (estimate < target):
        return 1.0
    if estimate <= 2.0 * rounding or not (scale > target > 0.0):
        return GROW_MAX
    f = model_factor(estimate, target, scale)
    if not (f > 0.0):  # the estimate is far below the target: the model has no finite answer
        return GROW_MAX
    return min(max(f, 1.0), GROW_MAX)


@njit
def integrate_batch(means, weights, teacher_means, teacher_weights, reverse, rtol, atol, max_refine, max_nodes, depth,
                    value, error, scale, nodes, ok, plans, fns):
    """``integrate_one`` for every parameter set of a batch (B, …), in one compiled call. The rows of the
    batch go down as unowned views (``rfisher.compiled.unowned``): the batch arrays outlive the loop."""
    B, K, D = means.shape
    J = teacher_means.shape[1]
    plan_owners, pw = plan_work(K, J, D)
    line_owners, work = line_work(K, J, D, value.shape[1])
    for b in range(B):
        n, good = integrate_one(unowned(means[b]), unowned(weights[b]), unowned(teacher_means[b]),
                                unowned(teacher_weights[b]), reverse, rtol, atol, max_refine, max_nodes, depth,
                                unowned(value[b]), unowned(error[b]), unowned(scale[b]), unowned(plans[b]), pw, work, fns)
        nodes[b] = n
        ok[b] = good
    hold(plan_owners)
    hold(line_owners)


# --- Python API ----------------------------------------------------------------------------------


def _check(objective, rtol, atol=0.0, max_refine=0, max_nodes=MAX_NODES):
    """The entry-point checks (``rfisher.validation``: the ranges and their reasons)."""
    validation.choice(objective, "objective", OBJECTIVES)
    validation.integer(max_refine, "max_refine", 0, validation.MAX_REFINE)
    validation.integer(max_nodes, "max_nodes", 1, 2**53)
    return validation.rtol(rtol), validation.atol(atol)


def integrate_prepared(objective, mu, w, nu, p, rtol=1e-12, atol=0.0, max_refine=4, max_nodes=MAX_NODES, plans=None):
    """``integrate`` for arrays already validated, broadcast and centred (the GD runner's entry). ``plans``
    (B, 3), updated in place: where each set's trapezoid rule starts, and then where a nearby evaluation
    should start (``integrate_one``); None: the a priori plan (1, 1, 0) for every set."""
    B, K, d = mu.shape
    J = nu.shape[1]
    fns, depth = compiled.generated(K, J, d, objective)
    P = 1 + K * d
    value, error, scale = np.empty((B, P)), np.empty((B, P)), np.empty((B, P))
    nodes, ok = np.zeros(B, dtype=np.int64), np.zeros(B, dtype=np.bool_)
    if plans is None:
        plans = np.tile([1.0, 1.0, 0.0], (B, 1))
    integrate_batch(mu, w, nu, p, objective == "reverse", float(rtol), float(atol), int(max_refine), int(max_nodes), depth,
                    value, error, scale, nodes, ok, plans, fns)
    ok &= np.all(np.isfinite(value), axis=1) & np.all(np.isfinite(error), axis=1)
    return QuadratureResult(value=value, error=error, scale=scale, nodes=nodes, converged=ok,
                            objective=objective, rtol=rtol, atol=atol)


def integrate(objective, means, weights, teacher_means, teacher_weights=None, *, rtol=1e-12, atol=0.0,
              max_refine=4, max_nodes=MAX_NODES) -> QuadratureResult:
    """E[[||e||², gradient integrand]] for a batch: ``forward`` under p, ``reverse`` under q_θ.

    means (B, K, d); weights (K,) or (B, K); teacher_means (J, d) or (B, J, d); teacher_weights
    (J,) or (B, J) (default uniform). Returns a QuadratureResult with value[:, 0] the objective
    (F or R) and value[:, 1:] its gradient, flattened as (K, d). One compiled call plans, sums,
    estimates and refines every parameter set.

    ``rtol`` in [1e−15, 1), ``atol`` ≥ 0, ``max_refine`` in [0, 64], ``max_nodes`` ≥ 1 (the work limit
    of one pass: past it the set is flagged not converged), means spanning at most 1e50
    (``rfisher.validation`` states the ranges and why); bad arguments raise ``InvalidArgument``.
    """
    rtol, atol = _check(objective, rtol, atol, max_refine, max_nodes)
    mu, w, nu, p = as_batch(means, weights, teacher_means, teacher_weights)
    validation.distances_in_range(mu, nu)
    mu, nu = centered(mu, nu, p)
    return integrate_prepared(objective, mu, w, nu, p, rtol, atol, max_refine, max_nodes)


# --- a plain tensor rule for any integrand (identities, notebooks; not a hot path) ---------------------

#: Radius of ``expectation``'s grid: the Gaussian mass outside ||y|| > 12 is < 1e−30, so polynomially
#: bounded integrands lose nothing measurable.
EXPECTATION_RADIUS = 12.0


def expectation(f, means, weights, teacher_means, teacher_weights=None, *, under="student", rtol=1e-12):
    """E[f(x)] under the student (``under="student"``) or the teacher, for one parameter set.

    ``f`` maps points (N, d) to values (N, P) and may depend on x in every direction, so the grid is the
    full tensor trapezoid rule in R^d (no reduction), radius EXPECTATION_RADIUS, with one step for every
    axis: the pole step of the sharpest transition of either mixture (``rfisher.planning``), halved.
    Returns (value (P,), error (P,)), error = |T_h − T_2h| + ε(64 + 2√N)·Σ|w f|. For checking
    identities, not a hot path."""
    from rfisher.planning import pole_step

    validation.choice(under, "under", ("student", "teacher"))
    rtol = validation.rtol(rtol)
    mu, w, nu, p = as_batch(np.asarray(means)[None], weights, teacher_means, teacher_weights)
    d = mu.shape[2]
    pts = np.concatenate([mu[0], nu[0]])
    lam = math.log(4 * math.pi * (1 + np.ptp(pts, axis=0).max()) ** 3 / rtol)
    H = gaussian_step(lam)
    for group in (mu[0], nu[0]):
        for k in range(len(group)):
            for l in range(k + 1, len(group)):
                slope = np.linalg.norm(group[k] - group[l])
                if slope > 0:
                    H = min(H, pole_step(math.pi / slope, lam))
    h = H / 2
    n = int(math.ceil(EXPECTATION_RADIUS / h))
    axis = np.arange(-n, n + 1) * h
    grid = np.stack(np.meshgrid(*[axis] * d, indexing="ij"), axis=-1).reshape(-1, d)
    inside = np.sum(grid * grid, axis=1) <= EXPECTATION_RADIUS**2
    grid = grid[inside]
    wts = np.prod(h * np.exp(-0.5 * grid * grid) / math.sqrt(2 * math.pi), axis=1)
    even = np.all(np.rint(grid / h).astype(np.int64) % 2 == 0, axis=1)
    centers, cw = (mu[0], w[0]) if under == "student" else (nu[0], p[0])
    fine, coarse, total = 0.0, 0.0, 0.0
    for c, wc in zip(centers, cw):
        vals = np.asarray(f(c + grid), dtype=float).reshape(len(grid), -1)
        fine = fine + wc * (wts @ vals)
        coarse = coarse + wc * ((2.0**d * wts * even) @ vals)
        total = total + wc * (wts @ np.abs(vals))
    return fine, np.abs(fine - coarse) + EPS * (64 + 2 * np.sqrt(len(grid) * len(centers))) * total
