"""R near θ* and along rays from θ*, for K = 2, d = 1 (docs/theory.md, "Verifier" and "Near the optimum").

Student q_θ = w N(μ_1, 1) + (1 − w) N(μ_2, 1), teacher p = N(μ*, 1), w fixed. Coordinates:

    δ = μ̄ − μ* (mean offset, μ̄ = w μ_1 + (1 − w) μ_2),   s = μ_1 − μ_2 (spread),
    μ_1 = μ* + δ + (1 − w) s,   μ_2 = μ* + δ − w s.

**Reduction.** ∇log q_θ − ∇log p = m_θ(x) − μ* with m_θ = r_1 μ_1 + r_2 μ_2 the posterior mean, and
m_θ(x) − μ̄ = s (r_1(x) − w) (r_1 + r_2 = 1). Since E_q[r_1] = w,

    R(θ) = δ² + G(s, w),   G(s, w) = Var_q(m_θ) = s² E_q[(r_1 − w)²],

and G does not depend on δ (translating every mean translates x). At x = μ_1 + z, resp. μ_2 + z, the
logit difference a_1 − a_2 is Λ + s z ± s²/2 with Λ = log(w/(1 − w)) (``logit_gap``), so with z ~ N(0, 1)

    G(s, w) = E_z[f(z; s, w)],   f = s² Σ_± w_± (σ(Λ + y_±) − w)²,   y_± = s(z ± s/2),

w_+ = w, w_− = 1 − w, σ the logistic function. The difference σ(Λ + y) − σ(Λ) is written without
cancellation (``responsibility_gap``): σ(Λ + y) − w = √(w(1 − w)) sinh(y/2) / cosh((Λ + y)/2).

**Ray derivative.** Along the ray θ* + λ(θ − θ*) both δ and s scale by λ, so

    ⟨θ − θ*, ∇R(θ)⟩ = d/dλ R|_{λ=1} = 2δ² + h(s, w),   h = s ∂_s G = E_z[s ∂_s f]  (``ray_integrand``;
    ∂_s at fixed z is legitimate: the measure φ(z) dz does not depend on s).

G is even in s (reflect x ↦ −x) and G(s, w) = G(−s, 1 − w) (swap the labels), so h(s, w) = h(|s|, w)
= h(|s|, 1 − w). If h > 0 for s ≠ 0, the only zero of ⟨θ − θ*, ∇R⟩ is θ*.

**Step bound.** With u = ∂_s G, ∇R = (2δw + u, 2δ(1 − w) − u) (``objective_gradient``), and U = ||θ − θ*||²
decreases in one GD step of size η iff η < η(θ) = 2⟨θ − θ*, ∇R⟩/||∇R||². Its infimum over δ ∈ ℝ at fixed
(s, w) is ``step_bound``: η_* = 2t / (1 + a t + √((1 + a t)² − 2t)), t = s/u, a = w² + (1 − w)².

**Series** (``spread_series``): G = w²(1−w)² s⁴ + O(s⁶), h = 4 w²(1−w)² s⁴ + O(s⁶); w(1 − w)s² is the
weighted covariance C of the means, so R ≈ δ² + C², ⟨θ − θ*, ∇R⟩ ≈ 2δ² + 4C² near θ*.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations import scores
from derivations.symbols import MixtureSymbols

#: spread s = μ_1 − μ_2, weight w of component 1, Gaussian variable z, Λ = log(w/(1 − w)), offset δ = μ̄ − μ*
S = sp.Symbol("s", real=True)
W = sp.Symbol("w", positive=True)
Z = sp.Symbol("z", real=True)
LAMBDA = sp.Symbol("Lambda", real=True)
DELTA = sp.Symbol("delta", real=True)
#: ∂_s G (the spread part of the gradient), a positive symbol in the step bound
U_SPREAD = sp.Symbol("u", positive=True)
#: the exponent of the candidate family V_α = Σ w_i^α (μ_i − μ*)²
ALPHA = sp.Symbol("alpha", nonnegative=True)
#: the sign of the component: +1 for μ_1 (weight w), −1 for μ_2 (weight 1 − w)
SIDES = ((1, W), (-1, 1 - W))


def spread_means(ms: MixtureSymbols):
    """{μ_1, μ_2, w_1, w_2, μ*} in (δ, s, w) coordinates for ``MixtureSymbols(2, 1, 1)``."""
    target = ms.target[0]
    return {ms.mu[0][0]: target + DELTA + (1 - W) * S, ms.mu[1][0]: target + DELTA - W * S,
            ms.w[0]: W, ms.w[1]: 1 - W}


def logit_gap(side: int) -> sp.Expr:
    """a_1 − a_2 (``derivations.scores.logits``) at x = μ_k + z, k = 1 (side +1) or 2 (side −1): Λ + s z ± s²/2
    (simplified; ``check_logit_gap`` proves it)."""
    ms = MixtureSymbols(2, 1, 1)
    sub = spread_means(ms)
    a = scores.logits(ms.x, ms.mu, ms.w)
    center = ms.mu[0][0] if side == 1 else ms.mu[1][0]
    gap = (a[0] - a[1]).subs(ms.x[0], center + Z).subs(sub, simultaneous=True)
    return sp.expand(sp.expand_log(gap, force=True))


def check_logit_gap() -> bool:
    """Proof that logit_gap(±1) = Λ + s z ± s²/2 with Λ = log w − log(1 − w)."""
    lam = sp.log(W) - sp.log(1 - W)
    return all(sp.simplify(logit_gap(side) - (lam + S * Z + side * S**2 / 2)) == 0 for side, _ in SIDES)


def logistic(t) -> sp.Expr:
    return 1 / (1 + sp.exp(-t))


def responsibility_gap(y) -> sp.Expr:
    """σ(Λ + y) − w = √(w(1 − w)) sinh(y/2) / cosh((Λ + y)/2), Λ = log(w/(1 − w)) (no cancellation at small y)."""
    return sp.sqrt(W * (1 - W)) * sp.sinh(y / 2) / sp.cosh((LAMBDA + y) / 2)


def check_responsibility_gap() -> bool:
    """Proof that ``responsibility_gap`` equals σ(Λ + y) − w when Λ = log(w/(1 − w)): in the odds o = w/(1 − w)
    > 0 and v = e^{y/2} > 0 both sides are rational functions of (o, v)."""
    o, v = sp.symbols("o v", positive=True)
    y = 2 * sp.log(v)
    w = o / (1 + o)
    lhs = logistic(sp.log(o) + y) - w
    rhs = responsibility_gap(y).subs(LAMBDA, sp.log(o)).subs(W, w)
    return sp.simplify(sp.expand((lhs - rhs).rewrite(sp.exp), force=True)) == 0


def spread_integrand(gap=None) -> sp.Expr:
    """f(z; s, w) = s² Σ_± w_± (σ(Λ + y_±) − w)², y_± = s(z ± s/2): G(s, w) = E_{z~N(0,1)}[f]."""
    gap = responsibility_gap if gap is None else gap
    return S**2 * sp.Add(*[wk * gap(S * (Z + side * S / 2)) ** 2 for side, wk in SIDES])


def spread_integrand_from_definition() -> sp.Expr:
    """f with the logistic written out and Λ = log(w/(1 − w)) (the form the series and mpmath use)."""
    lam = sp.log(W / (1 - W))
    return spread_integrand(lambda y: logistic(lam + y) - W)


def spread_derivative_integrand() -> sp.Expr:
    """∂_s f at fixed z: u(s, w) = ∂_s G = E_z[∂_s f] (the measure φ(z) dz does not depend on s)."""
    return sp.diff(spread_integrand(), S)


def ray_integrand() -> sp.Expr:
    """s ∂_s f at fixed z: h(s, w) = s ∂_s G = E_z[s ∂_s f]."""
    return S * spread_derivative_integrand()


#: the logistic σ(x) = 1/(1 + e^{−x}) and its slope σ'(x) = σ(x)(1 − σ(x)) = 1/(4 cosh²(x/2)), as named functions for
#: the verifier (which encloses them by monotonicity); ``check_named_logistic`` ties them to the closed forms
LOGISTIC = sp.Function("logistic")
LOGISTIC_SLOPE = sp.Function("logistic_slope")
#: atoms of the verifier's integrand for side ± (index 0: +, 1: −): the gap D = σ(Λ + y) − w and P = σ'(Λ + y)
GAP = (sp.Symbol("D_p", real=True), sp.Symbol("D_m", real=True))
SLOPE = (sp.Symbol("P_p", positive=True), sp.Symbol("P_m", positive=True))


def named_logistic(x) -> sp.Expr:
    return LOGISTIC(x)


def named_logistic_slope(x) -> sp.Expr:
    return LOGISTIC_SLOPE(x)


def check_named_logistic() -> bool:
    """Proof that σ'(x) = σ(x)(1 − σ(x)) = 1/(4 cosh²(x/2)) for σ = ``logistic`` (the verifier's enclosures of the
    named functions use these two facts: σ increasing, σ' increasing on x ≤ 0 and decreasing on x ≥ 0)."""
    x = sp.Symbol("x", real=True)
    slope = sp.diff(logistic(x), x)
    one = sp.simplify((slope - logistic(x) * (1 - logistic(x))).rewrite(sp.exp)) == 0
    two = sp.simplify((slope - 1 / (4 * sp.cosh(x / 2) ** 2)).rewrite(sp.exp)) == 0
    return one and two


def side_argument(side: int) -> sp.Expr:
    """y_± = s(z ± s/2)."""
    return S * (Z + side * S / 2)


def spread_derivative_atoms() -> sp.Expr:
    """∂_s f = Σ_± w_± [2s D_±² + 2s²(z ± s) D_± P_±] in the atoms D_± = σ(Λ + y_±) − w, P_± = σ'(Λ + y_±):
    ∂_s y_± = z ± s (``check_spread_derivative_atoms``). Each atom is enclosed on its own (D in two forms,
    ``responsibility_gap`` and the logistic, intersected), which keeps ball widths relative."""
    return sp.Add(*[wk * (2 * S * GAP[k] ** 2 + 2 * S**2 * (Z + side * S) * GAP[k] * SLOPE[k])
                    for k, (side, wk) in enumerate(SIDES)])


def check_spread_derivative_atoms() -> bool:
    """Proof that ``spread_derivative_atoms`` is ∂_s f: (1) with D a function of y, the chain rule turns
    ∂_s[s² Σ w_± D(y_±)²] into Σ w_± [2s D² + 2s² D D'(y_±)(z ± s)]; (2) D'(y) = σ'(Λ + y) = 1/(4 cosh²((Λ + y)/2))
    when Λ = log(w/(1 − w)) (in the odds o = w/(1 − w) and v = e^{y/2}, both sides rational)."""
    y = sp.Symbol("y", real=True)
    gap_fn = sp.Function("D")
    f = S**2 * sp.Add(*[wk * gap_fn(side_argument(side)) ** 2 for side, wk in SIDES])
    df = sp.diff(f, S)
    points = {sp.expand(side_argument(side)): k for k, (side, _) in enumerate(SIDES)}
    df = df.replace(lambda e: isinstance(e, sp.Subs), lambda e: SLOPE[points[sp.expand(e.point[0])]])
    df = df.replace(lambda e: isinstance(e, sp.core.function.AppliedUndef), lambda e: GAP[points[sp.expand(e.args[0])]])
    chain = sp.simplify(sp.expand(df - spread_derivative_atoms())) == 0
    o, v = sp.symbols("o v", positive=True)
    slope = sp.diff(responsibility_gap(y), y) - 1 / (4 * sp.cosh((LAMBDA + y) / 2) ** 2)
    slope = slope.subs(LAMBDA, sp.log(o)).subs(W, o / (1 + o)).subs(y, 2 * sp.log(v)).rewrite(sp.exp)
    return chain and sp.simplify(sp.expand(slope, force=True)) == 0


def spread_derivative_bound() -> tuple[sp.Expr, sp.Expr]:
    """(A, B) with |∂_s f| ≤ A + B|z| for all real z (s ≥ 0): |D| ≤ max(w, 1 − w) ≤ 1 and P ≤ 1/4 in
    ``spread_derivative_atoms`` give A = 2s + s³/2, B = s²/2; the tail of u beyond |z| > L is then at most
    A·erfc(L/√2) + B·2φ(L)."""
    return 2 * S + S**3 / 2, S**2 / 2


def ray_derivative(u=U_SPREAD) -> sp.Expr:
    """⟨θ − θ*, ∇R⟩ = 2δ² + s u with u = ∂_s G (``check_ray_derivative``)."""
    return 2 * DELTA**2 + S * u


def objective_gradient(u=U_SPREAD) -> tuple[sp.Expr, sp.Expr]:
    """(∂R/∂μ_1, ∂R/∂μ_2) = (2δw + u, 2δ(1 − w) − u) for R = δ² + G(s, w)."""
    return 2 * DELTA * W + u, 2 * DELTA * (1 - W) - u


def _chain_rule():
    """(∂R/∂μ_1, ∂R/∂μ_2, θ − θ*) by differentiating R = (wμ_1 + (1 − w)μ_2 − μ*)² + G(μ_1 − μ_2) with G a function."""
    m1, m2, t = sp.symbols("m1 m2 t", real=True)
    G = sp.Function("G")
    R = (W * m1 + (1 - W) * m2 - t) ** 2 + G(m1 - m2)
    sub = {m1: t + DELTA + (1 - W) * S, m2: t + DELTA - W * S}
    grads = [sp.diff(R, m).subs(sub, simultaneous=True).doit() for m in (m1, m2)]
    grads = [g.replace(lambda e: isinstance(e, sp.Subs) or isinstance(e, sp.Derivative), lambda e: U_SPREAD) for g in grads]
    return grads, [sub[m1] - t, sub[m2] - t]


def check_ray_derivative() -> bool:
    """Proof that the chain rule gives ``objective_gradient`` and ⟨θ − θ*, ∇R⟩ = ``ray_derivative``."""
    grads, offsets = _chain_rule()
    ok = all(sp.simplify(g - e) == 0 for g, e in zip(grads, objective_gradient(), strict=True))
    dot = sp.Add(*[o * g for o, g in zip(offsets, grads, strict=True)])
    return ok and sp.simplify(dot - ray_derivative()) == 0


def check_spread_range() -> bool:
    """Proof of the two facts that map the region ε ≤ ||θ − θ*|| ≤ M to (s, δ): ||θ − θ*||² = 2δ² + 2δs(1 − 2w)
    + s²(w² + (1 − w)²), whose minimum over δ is s²/2 (so |s| ≤ √2 M), and ||θ − θ*|| ≤ √2|δ| + |s|
    (so |δ| ≥ (ε − |s|)/√2): (√2|δ| + |s|)² − ||θ − θ*||² = 2|δ||s|(√2 − (1 − 2w)·sign(δs)) + 2w(1 − w)s² ≥ 0."""
    norm2 = sp.expand((DELTA + (1 - W) * S) ** 2 + (DELTA - W * S) ** 2)
    ok = sp.expand(norm2 - (2 * DELTA**2 + 2 * DELTA * S * (1 - 2 * W) + S**2 * (W**2 + (1 - W) ** 2))) == 0
    vertex = sp.solve(sp.diff(norm2, DELTA), DELTA)[0]
    ok = ok and sp.simplify(norm2.subs(DELTA, vertex) - S**2 / 2) == 0
    d, s = sp.symbols("d s_abs", nonnegative=True)  # |δ|, |s|; σ = sign(δ s) ∈ {−1, 1}
    for sigma in (1, -1):
        gap = sp.expand((sp.sqrt(2) * d + s) ** 2 - norm2.subs({DELTA: d, S: sigma * s}))
        claimed = 2 * d * s * (sp.sqrt(2) - (1 - 2 * W) * sigma) + 2 * W * (1 - W) * s**2
        ok = ok and sp.expand(gap - claimed) == 0  # and √2 > |1 − 2w| for w ∈ (0, 1): each term is ≥ 0
    return ok


def flow_quadratic(alpha=ALPHA) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(A, B, C) with Σ_i w_i^α (μ_i − μ*) ∂R/∂μ_i = A δ² + B δ + C (the flow derivative of V_α, up to the
    factor −2): A = 2(w^α w + (1−w)^α (1−w)), B = (w^α − (1−w)^α)(u + 2w(1−w)s), C = s u (w^α(1−w) + (1−w)^α w)."""
    b1, b2 = W**alpha, (1 - W) ** alpha
    A = 2 * (b1 * W + b2 * (1 - W))
    B = (b1 - b2) * (U_SPREAD + 2 * W * (1 - W) * S)
    C = S * U_SPREAD * (b1 * (1 - W) + b2 * W)
    return A, B, C


def check_flow_quadratic() -> bool:
    """Proof of ``flow_quadratic`` from ``objective_gradient`` (and that α = 0 gives ``ray_derivative``)."""
    g1, g2 = objective_gradient()
    lhs = W**ALPHA * (DELTA + (1 - W) * S) * g1 + (1 - W) ** ALPHA * (DELTA - W * S) * g2
    A, B, C = flow_quadratic()
    ok = sp.simplify(sp.expand(lhs - (A * DELTA**2 + B * DELTA + C))) == 0
    A0, B0, C0 = flow_quadratic(0)
    return ok and sp.simplify(A0 * DELTA**2 + B0 * DELTA + C0 - ray_derivative()) == 0


def step_bound(s=S, u=U_SPREAD, w=W) -> sp.Expr:
    """η_*(s, w) = inf_δ 2⟨θ − θ*, ∇R⟩/||∇R||² = 2t / (1 + a t + √((1 − a t)² + 2t(1 − 2w)²)), t = s/u,
    a = w² + (1 − w)²: the smaller root of p(η) = η² − 2(1 + a t)η + 2t (``check_step_bound``; the radicand
    (1 + at)² − 2t is written as a sum of squares, 2a − 1 = (1 − 2w)², and the root without cancellation).

    Monotone: ∂p/∂t = 2(1 − aη) > 0 below 1/a (p(1/a) = (1 − 2a)/a² ≤ 0, so η_* ≤ 1/a), ∂p/∂η < 0 at the smaller
    root and ∂p/∂a = −2tη < 0, so η_* increases with t and decreases with a: on a box,
    η_* ≥ η_*(t_lo, a_hi) (``step_bound_in``)."""
    t = s / u
    return step_bound_in(t, w**2 + (1 - w) ** 2, (1 - 2 * w) ** 2)


def step_bound_in(t, a, b2) -> sp.Expr:
    """η_* as a function of t = s/u, a = w² + (1 − w)² and b2 = (1 − 2w)² = 2a − 1."""
    return 2 * t / (1 + a * t + sp.sqrt((1 - a * t) ** 2 + 2 * t * b2))


def check_step_bound() -> bool:
    """Proof: η ≤ 2⟨θ − θ*, ∇R⟩/||∇R||² for all δ iff the quadratic Q(δ) = 2⟨·⟩ − η||∇R||² is ≥ 0 for all δ, i.e. its
    leading coefficient 4(1 − aη) is ≥ 0 and its discriminant −16u·(u η² − 2(u + a s)η + 2s) = −16u²·p(η) (t = s/u)
    is ≤ 0; p's roots are (1 + at) ± √((1 + at)² − 2t), the radicand equals (1 − at)² + 2t(1 − 2w)², and
    ``step_bound_in`` is the smaller root written as 2t/(larger root) (their product is 2t)."""
    eta = sp.Symbol("eta", positive=True)
    t = sp.Symbol("t", positive=True)
    g1, g2 = objective_gradient()
    Q = sp.expand(2 * ray_derivative() - eta * (g1**2 + g2**2))
    c2, c1, c0 = (Q.coeff(DELTA, k) for k in (2, 1, 0))
    a = W**2 + (1 - W) ** 2
    p = eta**2 - 2 * (1 + a * t) * eta + 2 * t
    ok = sp.expand(c1**2 - 4 * c2 * c0 + 16 * U_SPREAD**2 * p.subs(t, S / U_SPREAD)) == 0
    ok = ok and sp.expand(c2 - 4 * (1 - a * eta)) == 0
    radicand = (1 + a * t) ** 2 - 2 * t
    ok = ok and sp.expand(radicand - ((1 - a * t) ** 2 + 2 * t * (1 - 2 * W) ** 2)) == 0
    larger, smaller = (1 + a * t) + sp.sqrt(radicand), (1 + a * t) - sp.sqrt(radicand)
    ok = ok and sp.expand(larger * smaller - 2 * t) == 0
    ok = ok and all(sp.expand(p.subs(eta, r)) == 0 for r in (larger, smaller))
    closed = step_bound_in(t, a, (1 - 2 * W) ** 2)
    return ok and sp.expand(closed * larger - 2 * t) == 0 and sp.expand(step_bound().subs(S, t * U_SPREAD) - closed) == 0


def gaussian_moment(k: int) -> sp.Expr:
    """E[z^k], z ~ N(0, 1): 0 for odd k, (k − 1)!! for even k."""
    return sp.Integer(0) if k % 2 else sp.factorial2(k - 1)


def logistic_derivatives(n: int) -> list[sp.Expr]:
    """[σ(Λ), σ'(Λ), …, σ^(n)(Λ)] as polynomials in w = σ(Λ) (σ' = σ(1 − σ), then the chain rule)."""
    out = [W]
    for _ in range(n):
        out.append(sp.expand(sp.diff(out[-1], W) * W * (1 - W)))
    return out


@cache
def spread_series(order: int = 8) -> tuple[sp.Expr, sp.Expr]:
    """(G, h) up to s^order (higher terms dropped), coefficients polynomials in w: σ(Λ + y) − w = Σ_k σ^(k)(Λ) y^k/k!
    with y_± = s(z ± s/2) in f, truncated at s^order, integrated term by term against N(0, 1) (f is entire in s
    for real z; each coefficient is a polynomial in z)."""
    ders = logistic_derivatives(order)
    y = sp.Symbol("y")
    gap = sp.Add(*[ders[k] * y**k / sp.factorial(k) for k in range(1, order)])
    f = S**2 * sp.Add(*[wk * sp.expand(gap**2).subs(y, S * (Z + side * S / 2)) for side, wk in SIDES])
    f = sp.expand(f)
    f = sp.Add(*[f.coeff(S, k) * S**k for k in range(order + 1)])
    poly = sp.Poly(f, Z)
    G = sp.expand(sp.Add(*[c * gaussian_moment(k) for (k,), c in poly.terms()]))
    G = sp.Add(*[sp.factor(G.coeff(S, k)) * S**k for k in range(order + 1)])
    h = sp.expand(S * sp.diff(G, S))
    h = sp.Add(*[sp.factor(h.coeff(S, k)) * S**k for k in range(order + 1)])
    return G, h


def weighted_covariance() -> sp.Expr:
    """C = Σ_i w_i (μ_i − μ̄)² = w(1 − w)s² (the weighted covariance of the means, d = 1)."""
    mu1, mu2 = (1 - W) * S, -W * S
    return sp.factor(W * mu1**2 + (1 - W) * mu2**2)


def check_leading_order() -> bool:
    """Proof that G = C² + O(s⁶) and h = 4C² + O(s⁶), so that R ≈ δ² + C² and ⟨θ − θ*, ∇R⟩ ≈ 2δ² + 4C², a
    positive definite form in (δ, C) (zero only at δ = s = 0)."""
    G, h = spread_series(6)
    C = weighted_covariance()
    return (all(G.coeff(S, k) == 0 for k in range(4)) and sp.simplify(G.coeff(S, 4) - C**2 / S**4) == 0
            and sp.simplify(h.coeff(S, 4) - 4 * C**2 / S**4) == 0)


def family_discriminant_leading() -> sp.Expr:
    """The s² coefficient of B² − 4AC for V_α (``flow_quadratic``) with u = ∂_s G at leading order (4w²(1−w)²s³,
    ``spread_series``): 4(w^α − (1 − w)^α)² w²(1 − w)². B² − 4AC > 0 means the flow derivative of V_α is negative at
    δ = −B/(2A) = O(s): for every α > 0 and w ≠ ½, V_α increases along the flow arbitrarily close to θ*."""
    G, _ = spread_series(6)
    u = sp.diff(G, S)
    A, B, C = flow_quadratic()
    disc = sp.expand((B**2 - 4 * A * C).subs(U_SPREAD, u))
    return sp.factor(disc.coeff(S, 2))


def check_family_discriminant() -> bool:
    """Proof that ``family_discriminant_leading`` is 4(w^α − (1 − w)^α)² w²(1 − w)² and that the s⁰, s¹ terms vanish."""
    G, _ = spread_series(6)
    A, B, C = flow_quadratic()
    disc = sp.expand((B**2 - 4 * A * C).subs(U_SPREAD, sp.diff(G, S)))
    lead = 4 * (W**ALPHA - (1 - W) ** ALPHA) ** 2 * W**2 * (1 - W) ** 2
    return disc.coeff(S, 0) == 0 and disc.coeff(S, 1) == 0 and sp.simplify(family_discriminant_leading() - lead) == 0


# --- a K = 3 slice: fixed weights, centered means c = r·e(φ) ------------------------------------------------

#: the weights of the K = 3 slice
K3_WEIGHTS = (sp.Rational(1, 5), sp.Rational(3, 10), sp.Rational(1, 2))
RADIUS = sp.Symbol("r", nonnegative=True)
PHI = sp.Symbol("phi", real=True)


class expm1(sp.Function):  # noqa: N801 - the name the printer maps to the ball namespace
    """e^x − 1 (named so that the verifier encloses it by monotonicity, without cancellation at small x)."""

    def fdiff(self, argindex=1):
        return sp.exp(self.args[0])


def k3_basis(weights=K3_WEIGHTS):
    """An orthonormal basis (v1, v2) of the plane {c ∈ ℝ³: Σ w_i c_i = 0} of centered means (Gram–Schmidt)."""
    a = sp.Matrix([weights[1], -weights[0], 0])
    b = sp.Matrix([weights[2], 0, -weights[0]])
    v1 = a / a.norm()
    b = b - (b.dot(v1)) * v1
    v2 = b / b.norm()
    return [sp.nsimplify(x) for x in v1], [sp.radsimp(x) for x in v2]


def k3_centered_means(weights=K3_WEIGHTS):
    """c_i = r (cos φ v1_i + sin φ v2_i): Σ w_i c_i = 0, ||c|| = r."""
    v1, v2 = k3_basis(weights)
    return [RADIUS * (sp.cos(PHI) * a + sp.sin(PHI) * b) for a, b in zip(v1, v2, strict=True)]


def k3_dilation_integrands(weights=K3_WEIGHTS, shift: int | None = None) -> list[sp.Expr]:
    """[r ∂_r F_k] for k = 1..3, F_k(z) = (m_θ(c_k + z) − μ̄)² with m_θ − μ̄ = Σ_i w_i c_i (e^{A_ik} − 1)/Σ_j w_j e^{A_jk},
    A_ik = c_i(c_k + z) − c_i²/2 (the logits up to a common term; the −1 is free because Σ w_i c_i = 0, and removes
    the cancellation at small r). The dilation derivative of G = Var_q(m_θ) is Σ_k w_k E_z[r ∂_r F_k].

    With ``shift`` = s the same quantity is written as Σ_i w_i c_i e^{A_ik − A_sk}/Σ_j w_j e^{A_jk − A_sk} (numerator and
    denominator divided by e^{A_sk}; the term j = s is exactly 1): tight when component s dominates at x, i.e. at
    large r, where the unshifted ratio of two wide exponentials loses the sign."""
    c = k3_centered_means(weights)
    out = []
    for k in range(3):
        A = [ci * (c[k] + Z) - ci**2 / 2 for ci in c]
        if shift is None:
            num = sp.Add(*[wi * ci * expm1(a) for wi, ci, a in zip(weights, c, A, strict=True)])
            den = sp.Add(*[wi * sp.exp(a) for wi, a in zip(weights, A, strict=True)])
        else:
            num = sp.Add(*[wi * ci * (sp.exp(sp.expand(a - A[shift])) if i != shift else 1)
                           for i, (wi, ci, a) in enumerate(zip(weights, c, A, strict=True))])
            den = sp.Add(*[wi * (sp.exp(sp.expand(a - A[shift])) if i != shift else 1)
                           for i, (wi, a) in enumerate(zip(weights, A, strict=True))])
        out.append(RADIUS * sp.diff((num / den) ** 2, RADIUS))
    return out


def check_k3_posterior_mean(weights=K3_WEIGHTS) -> bool:
    """Proof that Σ_i w_i c_i (e^{A_i} − 1)/Σ_j w_j e^{A_j} is m_θ(x) − μ̄ (x = μ̄ + c_k + z, A_i = c_i(x − μ̄) − c_i²/2):
    the logits of ``derivations.scores`` are log w_i − (x − μ̄)²/2 + A_i (a common term cancels in the softmax), so
    m_θ − μ̄ = Σ w_i e^{A_i} c_i/Σ w_j e^{A_j}, and subtracting Σ w_i c_i = 0 from the numerator gives ours; and the
    slice's means satisfy Σ w_i c_i = 0, ||c|| = r."""
    ms = MixtureSymbols(3, 1, 1)
    y, mbar = sp.symbols("y mbar", real=True)  # y = x − μ̄
    cs = sp.symbols("c0:3", real=True)
    logits = scores.logits((mbar + y,), [(mbar + ci,) for ci in cs], ms.w)
    ok = all(sp.expand(a - (sp.log(wi) - y**2 / 2 + ci * y - ci**2 / 2)) == 0
             for a, wi, ci in zip(logits, ms.w, cs, strict=True))
    E = sp.symbols("E0:3", positive=True)  # e^{A_i}
    den = sp.Add(*[wi * ei for wi, ei in zip(ms.w, E, strict=True)])
    m = sp.Add(*[wi * ei * ci for wi, ei, ci in zip(ms.w, E, cs, strict=True)]) / den
    ours = sp.Add(*[wi * ci * (ei - 1) for wi, ei, ci in zip(ms.w, E, cs, strict=True)]) / den
    on_plane = {cs[2]: -(ms.w[0] * cs[0] + ms.w[1] * cs[1]) / ms.w[2]}
    ok = ok and sp.simplify((m - ours).subs(on_plane)) == 0
    c = k3_centered_means(weights)
    ok = ok and sp.simplify(sp.Add(*[wi * ci for wi, ci in zip(weights, c, strict=True)])) == 0
    return ok and sp.simplify(sp.Add(*[ci**2 for ci in c]) - RADIUS**2) == 0


def k3_dilation_bound() -> tuple[sp.Expr, sp.Expr]:
    """(A, B) with |r ∂_r F_k| ≤ A + B|z|: |m − μ̄| ≤ max|c_i| ≤ r, |∂_r A_ik| ≤ 3r + |z|, so
    |∂_r(m − μ̄)| ≤ 1 + 2r(3r + |z|) and |r ∂_r F| ≤ 2r²(1 + 6r²) + 4r³|z|."""
    return 2 * RADIUS**2 * (1 + 6 * RADIUS**2), 4 * RADIUS**3


def k3_radius_factor(weights=K3_WEIGHTS) -> sp.Expr:
    """q_min = min_φ (||e||² − (Σ e_i)²/3) = 1 − ((Σ v1_i)² + (Σ v2_i)²)/3: ||θ − θ*|| ≥ r √q_min, so r ≤ M/√q_min."""
    v1, v2 = k3_basis(weights)
    return sp.nsimplify(1 - (sum(v1) ** 2 + sum(v2) ** 2) / 3)
