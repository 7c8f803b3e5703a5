"""Planning the iterated trapezoid rule for one parameter set, and bounding what it leaves out.

The rule (``rfisher.quadrature`` has the whole story; docs/theory.md, "Quadrature"). For a
component c of the measure (weight w_c), E_{z~N(0, I)}[f(c + z)] is an integral over the reduced
space y ∈ R^s (``rfisher.reduction``). The rule is iterated: an inner direction v ∈ R^s and, for each
node y_o of a trapezoid grid over the orthogonal complement of v (the outer axes), a trapezoid rule
along the line t ↦ c + U(E y_o + v t), all cut to the disk ||y|| ≤ L.

Why iterated. The integrand is sharp only across the transition hyperplanes where two logits tie:
a logit difference with gradient δ puts poles of the responsibilities at distance π/|δ| from the
real axis, across the hyperplane. Along a line, those poles are at distance π/(|δ||α|), α the
cosine between v and δ: the inner rule resolves them, line by line, with a step planned from the
transitions that line actually crosses (``line_step``). As a function of where the line sits, the
inner integral is smooth: integrating over t convolves the transition with the Gaussian. In the
outer direction the poles are only reached after a shift τ = π/(|δ||β|) (β the outer component),
and beyond it they cost the Gaussian growth exp((βτ − π/|δ|)²/(2α²)). The outer step therefore
needs only the Gaussian's own limit, penalised by how obliquely v crosses the transitions
(``outer_bound``); ``inner_direction`` picks the v that penalises least.

Step model. A trapezoid rule of step H for a function analytic in the strip |Im| < τ has error
≈ mass · exp(−2πτ/H + g(τ)), g(τ) the growth of the integrand times the Gaussian at height τ
(τ²/2 for the Gaussian alone). With the tolerance as a log-ratio Λ = log(mass/tolerance), the largest
step is H = max_τ 2πτ/(Λ + g(τ)); the rule then uses h = H/2, and the same nodes' even half (step H)
and every fourth node give the error estimate of the sum with step h (``strip_ratio``; docs/theory.md,
"Error bounds").
"""

from __future__ import annotations

import math

import numpy as np

from rfisher.compiled import njit

EPS = float(np.finfo(float).eps)
#: Steps are never larger than this (the Gaussian weight alone needs ≲ 0.8 at a tolerance of 1e−13).
MAX_STEP = 0.5
#: Bounds of the factor a refinement multiplies a step by (``refine_factor``): at least REFINE_MIN (a
#: pass costs at most 2^s times the last), at most REFINE_FACTOR (every refinement makes progress).
REFINE_FACTOR, REFINE_MIN = 0.9, 0.5
#: A refinement aims at this fraction of the share of the allowance the estimate may use.
REFINE_AIM = 0.25
#: Fraction of the allowance the tail bound may use before the disk is widened.
TAIL_SHARE = 0.05
#: Largest number of nodes along one line (a bound on the work of a pathological plan).
MAX_LINE_NODES = 1_000_000
#: The error estimate's margin M: err(h) ≤ M·ρ(h)·(|Q_h − Q_2h| + ρ(2h)|Q_2h − Q_4h|) (``strip_ratio``;
#: docs/theory.md, "Error bounds"). Measured against 30-digit references before it was used: with M = 100 the
#: largest true error over the estimate (plus rounding) was 0.36 over 7179 lines and steps and 0.018 over 1402
#: two-dimensional rules; with M = 10, 50 of the lines and steps were under-estimated.
ESTIMATE_MARGIN = 100.0
#: Λ₀ = log(4π(1 + D)^SCALE_POWER/rtol): the integrand scale assumed when planning (calibrated below).
SCALE_POWER = 3


@njit
def diameters(means, teacher_means):
    """(D_all, D_μ, D_e): largest distance among all means, among students, student–teacher."""
    K, d = means.shape
    J = teacher_means.shape[0]
    d_all = 0.0
    d_mu = 0.0
    d_e = 0.0
    for i in range(K + J):
        for k in range(K + J):
            s = 0.0
            for a in range(d):
                p = means[i, a] if i < K else teacher_means[i - K, a]
                q = means[k, a] if k < K else teacher_means[k - K, a]
                s += (p - q) ** 2
            s = math.sqrt(s)
            d_all = max(d_all, s)
            if i < K and k < K:
                d_mu = max(d_mu, s)
            if i < K <= k:
                d_e = max(d_e, s)
    return d_all, d_mu, d_e


@njit
def tolerance_log(means, teacher_means, rtol):
    """Λ₀ = log(4π(1 + D)³/rtol): the log-ratio of the integrand's scale to the tolerance."""
    d_all, _, _ = diameters(means, teacher_means)
    return math.log(4.0 * math.pi * (1.0 + d_all) ** SCALE_POWER / rtol)


@njit
def radius(means, teacher_means, rtol, boost):
    """The disk radius L: the Gaussian mass beyond it, times the integrand's growth, is below the
    tolerance (the tail bound ``tail_one`` checks it); ``boost`` adds to L² when it is not."""
    d_all, _, d_e = diameters(means, teacher_means)
    return math.sqrt(2.0 * (math.log(1.0 / rtol) + 3.0 * math.log1p(d_all + d_e) + 4.0) + boost)


@njit
def gaussian_step(lam):
    """H = max_τ 2πτ/(Λ + τ²/2) = π√(2/Λ): the step the Gaussian weight alone allows."""
    return math.pi * math.sqrt(2.0 / lam)


@njit
def pole_step(pole, lam):
    """The largest step for a pole at distance ``pole`` from the real axis: 2πτ/(Λ + τ²/2) at
    τ = min(pole, √(2Λ)), written so that τ² cannot overflow for nearly flat directions."""
    tau = min(pole, math.sqrt(2.0 * lam))
    return 2.0 * math.pi / (lam / tau + 0.5 * tau)


@njit
def outer_bound(alpha, beta, gamma, lam):
    """A lower bound of max_τ 2πτ/(Λ + τ²/2 + ((βτ − π/γ)_+)²/(2α²)) (module docstring): the larger
    of the step that ignores the shift (βτ − π/γ ≤ βτ: penalty (1 + β²/α²)τ²/2) and the step that stops
    where the penalty starts (τ ≤ π/(γβ))."""
    if beta == 0.0:
        return gaussian_step(lam)
    sharp = 0.0
    if alpha > 0.0:
        sharp = gaussian_step(lam * (1.0 + (beta / alpha) ** 2))
    gentle = pole_step(math.pi / (gamma * beta), lam)
    return max(sharp, gentle)


@njit
def transitions(means, teacher_means, alpha_s, alpha_t, basis, rank, log_weight, lam0, normals, gammas, lams, offsets):
    """The transitions that matter for a component c: pairs (k, l) of one mixture whose tie hyperplane
    carries Gaussian mass of c above the tolerance. alpha_s (K,), alpha_t (J,): logits at c. Writes
    for each: the unit normal n = δ/|δ| in reduced coordinates (normals[T, :rank]), the slope γ = |δ|,
    Λ = log w_c + Λ₀ − dist(c, hyperplane)²/2 − masking, where masking is how far a third
    component's logit rises above the pair's at the hyperplane point nearest c, and the offset o of the
    hyperplane {y: ⟨n, y⟩ = o} in coordinates centred at c. Returns T."""
    T = 0
    for mix in range(2):
        mm = means if mix == 0 else teacher_means
        al = alpha_s if mix == 0 else alpha_t
        n = mm.shape[0]
        d = mm.shape[1]
        for k in range(n):
            for l in range(k + 1, n):
                norm2 = 0.0
                for a in range(d):
                    norm2 += (mm[k, a] - mm[l, a]) ** 2
                if norm2 == 0.0:
                    continue
                gap = al[k] - al[l]
                s = -gap / norm2  # the hyperplane point nearest c is c + s δ
                mask = 0.0
                for m in range(n):
                    proj = 0.0
                    for a in range(d):
                        proj += (mm[m, a] - mm[k, a]) * (mm[k, a] - mm[l, a])
                    mask = max(mask, al[m] - al[k] + s * proj)
                lam = log_weight + lam0 - 0.5 * gap * gap / norm2 - mask
                if lam <= 0.0:
                    continue
                gamma = math.sqrt(norm2)
                for b in range(rank):
                    proj = 0.0
                    for a in range(d):
                        proj += basis[a, b] * (mm[k, a] - mm[l, a])
                    normals[T, b] = proj / gamma
                gammas[T] = gamma
                lams[T] = lam
                offsets[T] = -gap / gamma
                T += 1
    return T


@njit
def _candidate(c, s, out):
    """The c-th fixed candidate direction in R^s (s = 2: 24 angles; s = 3: 40 points of a Fibonacci
    hemisphere); returns False past the last one."""
    if s == 2:
        if c >= 24:
            return False
        ang = math.pi * c / 24.0
        out[0] = math.cos(ang)
        out[1] = math.sin(ang)
        return True
    if c >= 40:
        return False
    z = 1.0 - (c + 0.5) / 40.0
    rr = math.sqrt(max(0.0, 1.0 - z * z))
    phi = c * math.pi * (3.0 - math.sqrt(5.0))
    out[0] = rr * math.cos(phi)
    out[1] = rr * math.sin(phi)
    out[2] = z
    return True


@njit
def _score(v, normals, gammas, lams, T, s):
    """min over transitions of ``outer_bound`` with the whole outer component |β| = √(1 − α²)."""
    worst = np.inf
    for t in range(T):
        alpha = 0.0
        for b in range(s):
            alpha += normals[t, b] * v[b]
        alpha = min(abs(alpha), 1.0)
        worst = min(worst, outer_bound(alpha, math.sqrt(1.0 - alpha * alpha), gammas[t], lams[t]))
    return worst


@njit
def inner_direction(normals, gammas, lams, T, s, v, trial):
    """The inner direction v ∈ R^s that maximises the smallest outer step over the transitions:
    chosen among the transition normals, their pairwise bisectors and a fixed set of directions."""
    for b in range(s):
        v[b] = 0.0
    v[0] = 1.0
    if s == 1 or T == 0:
        return
    best = _score(v, normals, gammas, lams, T, s)
    n_pairs = T * (T - 1) // 2
    for c in range(T + 2 * n_pairs + 64):
        if c < T:
            for b in range(s):
                trial[b] = normals[c, b]
        elif c < T + 2 * n_pairs:
            q = c - T
            sign = 1.0 if q % 2 == 0 else -1.0
            q //= 2
            i = 0
            while q >= T - 1 - i:
                q -= T - 1 - i
                i += 1
            j = i + 1 + q
            norm = 0.0
            for b in range(s):
                trial[b] = normals[i, b] + sign * normals[j, b]
                norm += trial[b] ** 2
            if norm < 1e-24:
                continue
            for b in range(s):
                trial[b] /= math.sqrt(norm)
        elif not _candidate(c - T - 2 * n_pairs, s, trial):
            break
        score = _score(trial, normals, gammas, lams, T, s)
        if score > best:
            best = score
            for b in range(s):
                v[b] = trial[b]


@njit
def complement(v, s, frame):
    """Columns 0..s−2 of frame (s, s − 1): an orthonormal basis of the complement of v in R^s."""
    col = 0
    for e in range(s):
        if col >= s - 1:
            break
        w = np.zeros(s)
        w[e] = 1.0
        for _pass in range(2):
            dot = 0.0
            for b in range(s):
                dot += w[b] * v[b]
            for b in range(s):
                w[b] -= dot * v[b]
            for c in range(col):
                dot = 0.0
                for b in range(s):
                    dot += w[b] * frame[b, c]
                for b in range(s):
                    w[b] -= dot * frame[b, c]
        norm = 0.0
        for b in range(s):
            norm += w[b] * w[b]
        if norm > 0.25:
            for b in range(s):
                frame[b, col] = w[b] / math.sqrt(norm)
            col += 1


@njit
def crossing_lam(normals, offsets, t1, t2, s, log_weight, lam0):
    """Λ at the crossing of two transition hyperplanes: log w_c + Λ₀ − (its distance to c)²/2, the
    distance of the nearest point of {⟨n₁, y⟩ = o₁, ⟨n₂, y⟩ = o₂}; −inf for parallel hyperplanes."""
    c12 = 0.0
    for e in range(s):
        c12 += normals[t1, e] * normals[t2, e]
    det = 1.0 - c12 * c12
    if det < 1e-12:
        return -np.inf
    o1, o2 = offsets[t1], offsets[t2]
    dist2 = (o1 * o1 - 2.0 * c12 * o1 * o2 + o2 * o2) / det
    return log_weight + lam0 - 0.5 * dist2


@njit
def strip_width(spread):
    """The half-width a of the strip |Im t| < a in which the responsibilities are analytic along a line whose
    logits' slopes spread over ``spread`` = G_max − G_min (π/spread; inf for 0). Along x + t u the logits
    are A_k + G_k t − t²/2, and Σ_k c_k e^{G_k t} (c_k > 0) has no zero for |Im t| < π/(G_max − G_min):
    its terms' arguments lie in an open sector of angle < π (docs/theory.md, "Error bounds")."""
    return math.pi / spread if spread > 0.0 else math.inf


@njit
def strip_ratio(a, h):
    """ρ(h) = max(e^(−πa/h), e^(−3π²/(2h²))): the factor by which the trapezoid error falls when the step
    is halved from 2h to h, for an integrand analytic in the strip of half-width a times the Gaussian
    weight (a pole at height a gives A·e^(−2πa/h); the Gaussian's own term e^(−2π²/h²)) (docs/theory.md,
    "Error bounds")."""
    gauss = 1.5 * math.pi * math.pi / (h * h)
    return math.exp(-min(math.pi * a / h, gauss))  # the larger of the two exponentials: one exp


@njit
def refine_factor(estimate, target, scale):
    """The factor to multiply a step by so that an error estimate ``estimate`` (> target) falls to
    ``target``, from the error model of the module docstring: the estimate behaves like A·exp(−c/h), so
    c/h = log(A/estimate) and the step that reaches the target is h·log(A/estimate)/log(A/target). The
    prefactor A is the mass near the transition times its residue, unknown: it lies between the
    estimate and the scale Σ|w f|, and a larger A predicts a larger step, so A is taken as their
    geometric mean (a transition carrying 1/100 of the scale is still refined enough; tested in
    tests/test_quadrature.py). For a Gaussian-limited step the error falls like exp(−c/h²), faster, so
    the factor is then smaller than needed: it errs towards accuracy. Clamped to [REFINE_MIN,
    REFINE_FACTOR]; REFINE_MIN when the estimate is not below the scale (no model)."""
    if not (estimate > target > 0.0) or not (scale > estimate):
        return REFINE_MIN
    return min(max(model_factor(estimate, target, scale), REFINE_MIN), REFINE_FACTOR)


@njit
def model_factor(estimate, target, scale):
    """The step factor h'/h = log(A/estimate)/log(A/target) of the error model A·exp(−c/h), A the geometric
    mean of the estimate and the scale (``refine_factor``; ``rfisher.quadrature.growth_factor`` runs it the
    other way). Not clamped; ≤ 0 or inf when log A ≤ log target (no finite answer)."""
    log_a = 0.5 * (math.log(scale) + math.log(estimate))
    return (log_a - math.log(estimate)) / (log_a - math.log(target))


@njit
def outer_steps(v, frame, normals, gammas, lams, offsets, T, s, log_weight, lam0, steps):
    """The planned step of each outer axis (the columns of frame): the smallest of the Gaussian limit, of
    ``outer_bound`` over the transitions, and of the pole step of every crossing of two transitions
    carrying mass, halved, capped at MAX_STEP (a plan's factor is applied by the caller,
    ``rfisher.quadrature.grown_step``).

    Where two transitions cross, the inner integral is not smoothed: a pole of one and a pole of the
    other, on opposite sides of the line, collide when the outer coordinate moves into the complex
    plane by τ = π(γ₂|α₂| + γ₁|α₁|)/(γ₁γ₂|β₁α₂ − β₂α₁|) (α the inner and β the outer component of each
    normal), which pinches the inner contour: the inner integral has a singularity there."""
    for b in range(s - 1):
        H = gaussian_step(lam0)
        for t in range(T):
            alpha = 0.0
            beta = 0.0
            for e in range(s):
                alpha += normals[t, e] * v[e]
                beta += normals[t, e] * frame[e, b]
            H = min(H, outer_bound(abs(alpha), abs(beta), gammas[t], lams[t]))
        for t1 in range(T):
            for t2 in range(t1 + 1, T):
                lam = crossing_lam(normals, offsets, t1, t2, s, log_weight, lam0)
                if lam <= 0.0:
                    continue
                a1 = 0.0
                b1 = 0.0
                a2 = 0.0
                b2 = 0.0
                for e in range(s):
                    a1 += normals[t1, e] * v[e]
                    b1 += normals[t1, e] * frame[e, b]
                    a2 += normals[t2, e] * v[e]
                    b2 += normals[t2, e] * frame[e, b]
                cross = abs(b1 * a2 - b2 * a1)
                if cross == 0.0:
                    continue
                g1, g2 = gammas[t1], gammas[t2]
                tau = math.pi * (g2 * abs(a2) + g1 * abs(a1)) / (g1 * g2 * cross)
                H = min(H, pole_step(tau, lam))
        steps[b] = min(0.5 * H, MAX_STEP)


@njit
def line_step(A, G, n, log_mass, lam0, h):
    """The inner step along a line for one mixture's transitions, given its logits A (n, 1) at the
    line's base and their slopes G (n,) along the line: for each tie point t* of two logits carrying
    mass (log_mass − t*²/2 − masking + Λ₀ > 0), the pole step for the pole at π/|G_k − G_l|, halved.
    Returns (the smaller of h and those, the largest |G_k − G_l| over those ties: 0 when none carries
    mass; π over it is the line's strip width in the error estimate, ``strip_ratio``)."""
    spread = 0.0
    for k in range(n):
        for l in range(k + 1, n):
            dg = G[k] - G[l]
            if dg == 0.0:
                continue
            t = -(A[k, 0] - A[l, 0]) / dg
            top = A[k, 0] + G[k] * t
            mask = 0.0
            for m in range(n):
                mask = max(mask, A[m, 0] + G[m] * t - top)
            lam = log_mass + lam0 - 0.5 * t * t - mask
            if lam <= 0.0:
                continue
            pole = math.pi / abs(dg)
            if not math.isfinite(pole):
                continue
            h = min(h, 0.5 * pole_step(pole, lam))
            spread = max(spread, abs(dg))
    return h, spread


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
def tail_one(reverse, centers, cweights, means, teacher_means, rank, L, tail):
    """Bound on Σ_c w_c E[|f(c + U y)|; ||y|| > L] per output, written into tail (P,).

    With D_e = max ||μ_i − ν_j|| ≥ ||e||, D_μ = max ||μ_i − μ_k|| ≥ ||μ_j − m_θ||, and
    G_c = max_j ||c − μ_j|| so that ||x − μ_j|| ≤ G_c + ||y||: ||e||² ≤ D_e²;
    |∇_μ ||e||²| ≤ 2(D_e + (G_c + ||y||) D_μ D_e); the moving-measure term (reverse) adds
    (G_c + ||y||) D_e².
    """
    _, d_mu, d_e = diameters(means, teacher_means)
    prob, first = chi_tail(rank, L)
    const = 0.0
    for c in range(centers.shape[0]):
        g = 0.0
        for j in range(means.shape[0]):
            s = 0.0
            for a in range(means.shape[1]):
                s += (centers[c, a] - means[j, a]) ** 2
            g = max(g, math.sqrt(s))
        a1 = 2.0 * (d_e + g * d_mu * d_e)
        if reverse:
            a1 += g * d_e * d_e
        const += cweights[c] * a1
    b1 = 2.0 * d_mu * d_e + (d_e * d_e if reverse else 0.0)
    tail[0] = d_e * d_e * prob
    tail[1:] = const * prob + b1 * first
