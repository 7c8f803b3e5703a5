"""The verifier: ⟨θ − θ*, ∇R(θ)⟩ > 0 certified on a region, K = 2, d = 1 (docs/theory.md, "Verifier").

Student q_θ = w N(μ_1, 1) + (1 − w) N(μ_2, 1), teacher N(μ*, 1), the candidate U(θ) = ||θ − θ*||² (C5). By the exact
collinear reduction of ``rfisher.certified`` the result holds in any d for means on a line through μ*.

**Reduction** (``derivations.near_optimum``, every formula printed from there). With δ = μ̄ − μ*, s = μ_1 − μ_2,

    ⟨θ − θ*, ∇R⟩ = 2δ² + s·u(s, w),   u = ∂_s G(s, w) = E_{z~N(0,1)}[∂_s f(z; s, w)],

where G = R − δ² = Var_q(m_θ) depends on (s, w) only, and u(−s, w) = −u(s, w), u(s, 1 − w) = u(s, w). So the
three-dimensional region {ε ≤ ||θ − θ*|| ≤ M, w ∈ [w_lo, 1 − w_lo]} is covered by boxes of (s, w) with
0 ≤ s ≤ √2·M (||θ − θ*|| ≥ |s|/√2, with equality at the best δ) and w ∈ [w_lo, ½] (w ∈ [w_lo, 1 − w_lo] for
a candidate V_α with α ≠ 0, which is not symmetric in w). On a box with s ≤ b, every θ of the region has
|δ| ≥ δ_lo = max(0, (ε − b)/√2) (||θ − θ*|| ≤ √2|δ| + |s|), so the box is certified when

    lower(s·u) + 2δ_lo² > 0   (for V_α: the minimum of A δ² + B δ + C over |δ| ≥ δ_lo, ``flow_quadratic``).

That number is the box's certified lower bound of ⟨θ − θ*, ∇R⟩ on the part of the region it covers.

**Enclosure of u on a box** (``enclose_spread_derivative``). The parameters are balls s ∈ [a, b], w ∈ [w_lo, w_hi];
the window |z| ≤ ``WINDOW`` is cut into intervals I_j and

    u ∈ Σ_j P(z ∈ I_j) · ∂_s f(I_j; s, w)  +  [± (A·erfc(L/√2) + B·2φ(L))],

with ∂_s f evaluated in arb ball arithmetic over the whole interval I_j and the whole box (so it contains every
value of ∂_s f there; φ ≥ 0 makes the sum an enclosure of the integral), P(z ∈ I_j) from arb's erf, and the
tail bound |∂_s f| ≤ A + B|z| of ``spread_derivative_bound``. The integrand is written in the atoms
D_± = σ(Λ + y_±) − w, enclosed both as √(w(1 − w)) sinh(y/2)/cosh((Λ + y)/2) (no cancellation at small s) and
as the logistic (tight where it saturates) and intersected, and c_± = cosh((Λ + y_±)/2): ball widths then stay
relative, so a box of relative size ~10% certifies at any scale s. Intervals whose contribution dominates the
radius are bisected (up to ``Z_BUDGET`` evaluations). This is a first-order enclosure rather than
``acb.integral``: with parameter balls the latter's complex-ball error bounds do not converge (measured: NaN
after 1.5 s for a 5% box), while this one costs ~1 ms per box.

**Step bound.** For η < η(θ) = 2⟨θ − θ*, ∇R⟩/||∇R||², U decreases in one GD step. Its infimum over δ at fixed
(s, w) is ``step_bound`` (a closed form in t = s/u); a box reports the lower end of its enclosure (or, near
s = 0 where u's ball contains 0, the bound (4 − 2|min(su, 0)|/δ_lo²)/(4a + 4|u|/δ_lo + 2u²/δ_lo²) valid for
|δ| ≥ δ_lo). η_max(region) = the minimum over the boxes.

**K = 3 slice** (``verify_k3_slice``): fixed weights (1/5, 3/10, 1/2), centered means c = r(cos φ v1 + sin φ v2) on
the plane Σ w_i c_i = 0; ⟨θ − θ*, ∇R⟩ = 2δ² + r∂_r G(r, φ) with m_θ − μ̄ = Σ w_i c_i (e^{A_i} − 1)/Σ w_j e^{A_j}
(``expm1``: no cancellation at small r), intersected with the same ratio divided by the dominant component's
exponential (tight at large r); boxes over (r, φ ∈ [0, π]). Measured (ε = 0.1): M = 2 certified with 1725 boxes in
55 s, M = 3 with 3048 boxes in 130 s (one core).

**Branch and bound.** An initial grid (s: [0, ε/2] then geometric; w geometric), each box certified or bisected
along its relatively wider side, up to ``MAX_DEPTH`` bisections; the rest is reported as uncovered. Each box's
verdict depends only on its corners, so the result does not depend on the number of worker processes.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
import time
from dataclasses import dataclass, field
from functools import cache

from rfisher.certified import CertificationError

try:
    from flint import arb, ctx
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("rfisher.verifier needs python-flint: pip install 'rfisher[certified]'") from exc

#: working precision (bits); the widths come from the parameter boxes, not from rounding
PREC = 64
#: the window |z| ≤ WINDOW of the Gaussian variable; erfc(9/√2) = 2.3e−19
WINDOW = 9.0
#: initial z intervals on [−WINDOW, WINDOW], and the most ∂_s f evaluations per box
Z_INTERVALS = 48
Z_BUDGET = 120
#: stop refining z once the radius is below this fraction of the midpoint
Z_TARGET = 0.25
#: most bisections of an initial box, and most boxes evaluated in one run (a refuted candidate would otherwise
#: bisect every failing box to the full depth)
MAX_DEPTH = 14
MAX_BOXES = 50_000
#: ratio of the initial geometric grids in s and in w
S_RATIO = 1.5
W_RATIO = 1.5

# --- the integrand, printed from derivations.near_optimum ---------------------------------------------------


def _piecewise_monotone(x, f, at_zero=None):
    """f on the ball x, for f monotone on each side of 0: f(x) for an exact x, else the union of f at the two
    endpoints, and of ``at_zero`` = f(0) when x contains 0 (pass it for f not monotone across 0)."""
    if x.rad() == 0:
        return f(x)
    out = f(x.lower()).union(f(x.upper()))
    return out.union(at_zero) if at_zero is not None and x.contains(0) else out


class _BallNamespace:
    """sinh, cosh, logistic and exact rationals on arb balls, for code printed from the derivations."""

    @staticmethod
    def q(p: int, q: int):
        return arb(p) / q

    # arb bounds a function of a wide ball by its largest modulus (cosh([−20, −17]) comes out as [± 2.5e7], which
    # contains 0); these functions are monotone on each half-line, so their range on [lo, hi] is the union of the
    # balls at the two endpoints, and of the value at 0 when the interval contains 0 (``_piecewise_monotone``).

    @staticmethod
    def sinh(x):
        return _piecewise_monotone(x, lambda t: t.sinh())

    @staticmethod
    def cosh(x):
        return _piecewise_monotone(x, lambda t: t.cosh(), at_zero=arb(1))

    @staticmethod
    def exp(x):
        return _piecewise_monotone(x, lambda t: t.exp())

    @staticmethod
    def rpow(x, p: int, q: int):
        """x^(p/q) = exp((p/q) log x) for x > 0."""
        return (arb(p) / q * (x if isinstance(x, arb) else arb(x)).log()).exp()

    @staticmethod
    def logistic(x):
        """σ(x) = 1/(1 + e^{−x}), increasing."""
        return _piecewise_monotone(
            x, lambda t: 1 / (1 + (-t).exp()) if t < 0 or t.contains(0) else 1 - 1 / (1 + t.exp()))

    @staticmethod
    def logistic_slope(x):
        """σ'(x) = 1/(4 cosh²(x/2)): increasing for x ≤ 0, decreasing for x ≥ 0, at most 1/4."""
        def at(t):
            c = (t / 2).cosh()
            return 1 / (4 * c * c)
        return _piecewise_monotone(x, at, at_zero=arb(1) / 4)

    @staticmethod
    def log(x):
        return x.log()

    @staticmethod
    def sqrt(x):
        return (x if isinstance(x, arb) else arb(x)).sqrt()

    @staticmethod
    def sin(x):
        return x.sin()

    @staticmethod
    def cos(x):
        return x.cos()

    @staticmethod
    def expm1(x):
        """e^x − 1, increasing (arb's expm1 has no cancellation)."""
        return _piecewise_monotone(x, lambda t: t.expm1())

    @staticmethod
    def sqr(x):
        """x² as a ball, from the endpoints (x·x in midpoint-radius arithmetic can dip below 0 for wide x)."""
        return _piecewise_monotone(x, lambda t: t * t, at_zero=arb(0))

    @staticmethod
    def ipow(x, n: int):
        """x^n for an integer n by repeated products (arb's ``**`` is exp(n log x): NaN when x contains 0)."""
        out = x
        for _ in range(abs(n) - 1):
            out = out * x
        return 1 / out if n < 0 else out


@cache
def _printer():
    import sympy as sp

    from derivations.printing import _Printer

    class BallPrinter(_Printer):
        """``derivations.printing``'s printer for module "B", with integer powers as products (and squares
        parenthesised: the shared printer writes a/b**2 as ``a/b*b``) and sinh/cosh/exp in the namespace."""

        def _print_Pow(self, expr, rational=False):
            base, exp = expr.args
            if exp.is_Integer:
                b = self._print(base)
                return f"B.sqr({b})" if exp == 2 else f"B.ipow({b}, {int(exp)})"
            if exp == sp.Rational(1, 2):
                return f"B.sqrt({self._print(base)})"
            if exp.is_Rational:  # w^α of the family V_α: a positive base
                return f"B.rpow({self._print(base)}, {exp.p}, {exp.q})"
            raise ValueError(f"unsupported power in a ball integrand: {expr}")

        def _print_Function(self, expr):
            name = type(expr).__name__
            if name in ("logistic", "logistic_slope", "expm1"):
                return f"B.{name}({self._print(expr.args[0])})"
            return super()._print_Function(expr)

        def _print_sinh(self, expr):
            return f"B.sinh({self._print(expr.args[0])})"

        def _print_cosh(self, expr):
            return f"B.cosh({self._print(expr.args[0])})"

        def _print_exp(self, expr):
            return f"B.exp({self._print(expr.args[0])})"

        def _print_expm1(self, expr):
            return f"B.expm1({self._print(expr.args[0])})"

        def _print_sin(self, expr):
            return f"B.sin({self._print(expr.args[0])})"

        def _print_cos(self, expr):
            return f"B.cos({self._print(expr.args[0])})"

    return BallPrinter("B")


def _compile(name: str, args: list, exprs: list):
    """A Python function of ``args`` returning the printed ``exprs`` (common subexpressions shared)."""
    import sympy as sp

    p = _printer()
    reps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("t"), optimizations="basic")
    lines = [f"{a} = {p.doprint(b)}" for a, b in reps]
    lines.append("return (" + ", ".join(p.doprint(e) for e in reduced) + ",)")
    src = f"def {name}({', '.join(map(str, args))}):\n" + "\n".join("    " + line for line in lines) + "\n"
    namespace = {"B": _BallNamespace}
    exec(compile(src, f"<rfisher.verifier {name}>", "exec"), namespace)
    return namespace[name]


@cache
def _functions():
    """The printed functions: atoms (y_±, both forms of D_±, c_±), ∂_s f in atoms, the tail coefficients,
    the step bound and the V_α quadratic."""
    from derivations import near_optimum as n

    atoms = []
    for side, _ in n.SIDES:
        y = n.side_argument(side)
        atoms += [n.responsibility_gap(y), n.named_logistic(n.LAMBDA + y) - n.W, n.named_logistic_slope(n.LAMBDA + y)]
    fns = {
        "atoms": _compile("atoms", [n.Z, n.S, n.W, n.LAMBDA], atoms),
        "integrand": _compile("integrand", [n.Z, n.S, n.W, *n.GAP, *n.SLOPE], [n.spread_derivative_atoms()]),
        "tail": _compile("tail", [n.S], list(n.spread_derivative_bound())),
        "step": _compile("step", [T_RATIO, A_COEF], [n.step_bound_in(T_RATIO, A_COEF, 2 * A_COEF - 1)]),
    }
    return fns


def _symbols():
    import sympy as sp

    return sp.Symbol("t", positive=True), sp.Symbol("a", positive=True)


T_RATIO, A_COEF = _symbols()


@cache
def _quadratic(alpha: float):
    from derivations import near_optimum as n

    return _compile("quadratic", [n.S, n.U_SPREAD, n.W], list(n.flow_quadratic(n.sp.nsimplify(alpha))))


def _interval(lo: float, hi: float):
    """The ball [lo, hi] (contains both ends exactly)."""
    return arb(lo).union(arb(hi))


def _spread_derivative_on(zlo: float, zhi: float, s, w, lam, fns):
    """∂_s f over z ∈ [zlo, zhi] and the parameter balls, as a ball."""
    z = _interval(zlo, zhi)
    a = fns["atoms"](z, s, w, lam)
    gaps = []
    for k in range(2):
        forms = [d for d in a[3 * k:3 * k + 2] if d.is_finite()]
        if not forms:
            return arb(0, math.inf)
        gap = forms[0]
        for d in forms[1:]:  # both contain the true range: so does their intersection
            gap = gap.intersection(d) if gap.overlaps(d) else arb(math.nan)
        gaps.append(gap)
    return fns["integrand"](z, s, w, gaps[0], gaps[1], a[2], a[5])[0]


@cache
def _gaussian_cdf(x: float):
    with ctx.workprec(PREC):
        return (1 + (arb(x) / arb(2).sqrt()).erf()) / 2


def _gaussian_enclosure(g, window: float, z_budget: int, z_target: float, tail):
    """E_{z~N(0,1)}[g] ⊂ Σ_j P(z ∈ I_j)·g(I_j) + [± tail] over a partition of [−window, window] refined where the
    contributions' radii are largest (``g(lo, hi)`` encloses the integrand on z ∈ [lo, hi]; module docstring).
    Returns (ball, evaluations)."""

    def piece(lo, hi):
        return (_gaussian_cdf(hi) - _gaussian_cdf(lo)) * g(lo, hi)

    edges = [-window + 2 * window * k / Z_INTERVALS for k in range(Z_INTERVALS + 1)]
    parts = {(lo, hi): piece(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)}
    evals = len(parts)
    heap = [(-float(v.rad()), lo, hi) for (lo, hi), v in parts.items()]
    heapq.heapify(heap)
    total = sum(parts.values(), arb(0))
    while heap and evals + 2 <= z_budget and float(total.rad()) > z_target * abs(float(total.mid())):
        _, lo, hi = heapq.heappop(heap)
        mid = (lo + hi) / 2
        left, right = piece(lo, mid), piece(mid, hi)
        evals += 2
        old = parts.pop((lo, hi))
        if float(left.rad() + right.rad()) > 0.9 * float(old.rad()):
            parts[(lo, hi)] = old  # limited by the parameter box, not by z: keep, do not split again
            continue
        parts[(lo, mid)], parts[(mid, hi)] = left, right
        heapq.heappush(heap, (-float(left.rad()), lo, mid))
        heapq.heappush(heap, (-float(right.rad()), mid, hi))
        total = sum(parts.values(), arb(0))
    total = sum(parts.values(), arb(0))
    return total + arb(0, tail.abs_upper()), evals


def _tail_bound(A, Bc, window: float):
    """A·erfc(L/√2) + B·2φ(L) ≥ ∫_{|z|>L} φ(z)(A + B|z|) dz."""
    L = arb(window)
    return A * (L / arb(2).sqrt()).erfc() + Bc * 2 * (-L * L / 2).exp() / (2 * arb.pi()).sqrt()


def enclose_spread_derivative(s_lo: float, s_hi: float, w_lo: float, w_hi: float, *, z_budget: int = Z_BUDGET,
                              z_target: float = Z_TARGET, window: float = WINDOW, flip_sign: bool = False):
    """A ball containing u(s, w) = ∂_s G(s, w) for every s ∈ [s_lo, s_hi], w ∈ [w_lo, w_hi] (module docstring),
    and the number of integrand evaluations. ``flip_sign`` negates the integrand (only for the tests' check that a
    wrong integrand is not certified)."""
    if not (0 <= s_lo <= s_hi and math.isfinite(s_hi)):
        raise ValueError(f"s interval must satisfy 0 ≤ s_lo ≤ s_hi < ∞, got [{s_lo}, {s_hi}]")
    if not (0 < w_lo <= w_hi < 1):
        raise ValueError(f"w interval must lie in (0, 1), got [{w_lo}, {w_hi}]")
    fns = _functions()
    sign = -1 if flip_sign else 1
    with ctx.workprec(PREC):
        s = _interval(s_lo, s_hi)
        w = _interval(w_lo, w_hi)
        lam = (w / (1 - w)).log()
        tail = _tail_bound(*fns["tail"](arb(s_hi)), window)
        out, evals = _gaussian_enclosure(lambda lo, hi: sign * _spread_derivative_on(lo, hi, s, w, lam, fns),
                                         window, z_budget, z_target, tail)
        if not out.is_finite():
            raise CertificationError(f"u on s ∈ [{s_lo}, {s_hi}], w ∈ [{w_lo}, {w_hi}] is not finite: {out}")
        return out, evals


# --- boxes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """s ∈ [s_lo, s_hi], w ∈ [w_lo, w_hi]; ``depth`` bisections from the initial grid."""

    s_lo: float
    s_hi: float
    w_lo: float
    w_hi: float
    depth: int = 0

    def split(self) -> tuple[Box, Box]:
        """Bisect the relatively wider side (s relative to s_hi, w relative to w_lo)."""
        rel_s = (self.s_hi - self.s_lo) / self.s_hi
        rel_w = (self.w_hi - self.w_lo) / self.w_lo
        if rel_s >= rel_w:
            m = (self.s_lo + self.s_hi) / 2
            return (Box(self.s_lo, m, self.w_lo, self.w_hi, self.depth + 1),
                    Box(m, self.s_hi, self.w_lo, self.w_hi, self.depth + 1))
        m = (self.w_lo + self.w_hi) / 2
        return (Box(self.s_lo, self.s_hi, self.w_lo, m, self.depth + 1),
                Box(self.s_lo, self.s_hi, m, self.w_hi, self.depth + 1))


@dataclass(frozen=True)
class BoxResult:
    """A box's verdict: ``lower`` is the certified lower bound of the flow quantity on the region's part in the box
    (NaN if the enclosure failed), ``eta`` a certified lower bound of η(θ) there (α = 0 only), ``u`` the ball of
    ∂_s G as a string."""

    box: Box
    certified: bool
    lower: float
    eta: float
    u: str
    evals: int


def _lower_quadratic(A, Bq, C, delta_lo):
    """A lower bound of min_{|δ| ≥ δ_lo} (A δ² + B δ + C) for A > 0 (balls): the global minimum C − B²/(4A), or,
    when the vertex −B/(2A) lies certainly in (−δ_lo, δ_lo), the value at |δ| = δ_lo: A δ_lo² − |B| δ_lo + C."""
    if not A > 0:
        return arb(0, math.inf)
    vertex = Bq.abs_upper() / (2 * A)
    if delta_lo > 0 and vertex < delta_lo:
        return A * delta_lo * delta_lo - arb(Bq.abs_upper()) * delta_lo + C
    return C - Bq * Bq / (4 * A)


def certify_box(box: Box, eps: float, alpha: float = 0.0, *, flip_sign: bool = False) -> BoxResult:
    """Certify the flow condition of U (α = 0) or of V_α on the part of {||θ − θ*|| ≥ eps} whose (|s|, w) lies in
    ``box`` (module docstring)."""
    try:
        u, evals = enclose_spread_derivative(box.s_lo, box.s_hi, box.w_lo, box.w_hi, flip_sign=flip_sign)
    except CertificationError:
        return BoxResult(box, False, math.nan, math.nan, "non-finite", 0)
    with ctx.workprec(PREC):
        s = _interval(box.s_lo, box.s_hi)
        w = _interval(box.w_lo, box.w_hi)
        delta_lo = arb(max(0.0, (eps - box.s_hi) / math.sqrt(2)))
        if delta_lo > 0:  # round the bound down: (eps − s_hi)/√2 in balls
            delta_lo = ((arb(eps) - arb(box.s_hi)) / arb(2).sqrt()).lower()
        A, Bq, C = (arb(c) for c in _quadratic(float(alpha))(s, u, w))
        lower = _lower_quadratic(A, Bq, C, delta_lo)
        low = float(lower.lower()) if lower.is_finite() else -math.inf
        eta = math.nan
        if alpha == 0 and low > 0:
            eta = _step_lower(box, u, delta_lo)
        return BoxResult(box, low > 0, low, eta, u.str(6, radius=True), evals)


def _step_lower(box: Box, u, delta_lo) -> float:
    """A certified lower bound of η(θ) = 2⟨θ − θ*, ∇R⟩/||∇R||² on the box (module docstring): η_*(t_lo, a_hi) with
    t_lo = s_lo/u_hi, a_hi = max of w² + (1 − w)² over the box (η_* is increasing in t, decreasing in a), and near
    s = 0 the bound for |δ| ≥ δ_lo; the larger of the two."""
    best = -math.inf
    a_hi = max(arb(x) * arb(x) + (1 - arb(x)) * (1 - arb(x)) for x in (box.w_lo, box.w_hi)).upper()
    if u > 0:
        t_lo = (arb(box.s_lo) / arb(u.upper())).lower()
        (step,) = _functions()["step"](t_lo, a_hi)
        if step.is_finite():
            best = float(step.lower())
    if delta_lo > 0:
        su = _interval(box.s_lo, box.s_hi) * u
        neg = arb(min(0.0, float(su.lower())))
        ua = arb(u.abs_upper())
        bound = (4 + 2 * neg / (delta_lo * delta_lo)) / (4 * a_hi + 4 * ua / delta_lo + 2 * ua * ua / (delta_lo * delta_lo))
        if bound.is_finite():
            best = max(best, float(bound.lower()))
    return best


# --- the region --------------------------------------------------------------------------------------------


def _geometric(lo: float, hi: float, ratio: float) -> list[float]:
    pts = [lo]
    while pts[-1] * ratio < hi * (1 - 1e-12):
        pts.append(pts[-1] * ratio)
    pts.append(hi)
    return pts


def s_max(M: float) -> float:
    """A double ≥ √2·M (the largest |s| with ||θ − θ*|| ≤ M, ``derivations.near_optimum.check_spread_range``)."""
    with ctx.workprec(PREC):
        return math.nextafter(float((arb(2).sqrt() * arb(M)).upper()), math.inf)


def initial_boxes(M: float, eps: float, w_min: float, symmetric: bool) -> list[Box]:
    """s: [0, eps/2] then geometric (ratio ``S_RATIO``) to √2·M; w: geometric from w_min to ½ (symmetric) or
    geometric to ½ and mirrored to 1 − w_min."""
    s_edges = [0.0] + _geometric(eps / 2, s_max(M), S_RATIO)
    w_edges = _geometric(w_min, 0.5, W_RATIO)
    if not symmetric:
        w_edges = w_edges + [1 - x for x in reversed(w_edges[1:-1])] + [math.nextafter(1 - w_min, 1.0)]
    return [Box(a, b, c, d) for a, b in zip(s_edges[:-1], s_edges[1:], strict=True)
            for c, d in zip(w_edges[:-1], w_edges[1:], strict=True)]


def _certify_args(args):
    box, eps, alpha = args
    return certify_box(box, eps, alpha)


@dataclass
class Region:
    """The verifier's result on {eps ≤ ||θ − θ*|| ≤ M, w ∈ [w_min, 1 − w_min]}."""

    M: float
    eps: float
    w_min: float
    alpha: float
    results: list = field(default_factory=list)
    uncovered: list = field(default_factory=list)
    seconds: float = 0.0
    evaluations: int = 0
    workers: int = 1

    @property
    def certified_boxes(self) -> int:
        """The number of certified boxes (> 0: the certified region is non-empty; see ``complete``)."""
        return len(self.results)

    @property
    def complete(self) -> bool:
        """True if the certified boxes cover the whole region (no box left uncovered)."""
        return bool(self.results) and not self.uncovered

    @property
    def min_lower(self) -> float:
        return min((r.lower for r in self.results), default=math.nan)

    @property
    def eta_max(self) -> float:
        return min((r.eta for r in self.results), default=math.nan)

    def summary(self) -> str:
        name = "⟨θ − θ*, ∇R⟩" if self.alpha == 0 else f"the flow derivative of V_α (α = {self.alpha:g})"
        head = (f"{name} > 0 on {self.eps:g} ≤ ||θ − θ*|| ≤ {self.M:g}, w ∈ [{self.w_min:g}, {1 - self.w_min:g}]")
        if self.uncovered:
            return (f"NOT certified: {len(self.uncovered)} boxes uncovered ({len(self.results)} certified) "
                    f"for {head}, {self.seconds:.1f} s")
        eta = f", η_max ≥ {self.eta_max:.4g}" if self.alpha == 0 else ""
        return (f"certified: {head} — {len(self.results)} boxes, {self.seconds:.1f} s, "
                f"smallest lower bound {self.min_lower:.3g}{eta}")

    def details(self) -> dict:
        def row(r: BoxResult) -> list:
            return [r.box.s_lo, r.box.s_hi, r.box.w_lo, r.box.w_hi, r.lower, r.eta]

        return {
            "M": self.M, "eps": self.eps, "w_range": [self.w_min, 1 - self.w_min], "alpha": self.alpha,
            "s_max": s_max(self.M), "symmetric_in_w": self.alpha == 0,
            "count": len(self.results), "uncovered_count": len(self.uncovered), "complete": self.complete,
            "seconds": self.seconds,
            "evaluations": self.evaluations, "workers": self.workers,
            "min_lower_bound": self.min_lower, "eta_max": self.eta_max if self.alpha == 0 else None,
            "columns": ["s_lo", "s_hi", "w_lo", "w_hi", "lower_bound", "eta_lower"],
            "boxes": [row(r) for r in self.results], "uncovered": [row(r) for r in self.uncovered],
            "summary": self.summary(),
        }


def verify(M: float = 10.0, eps: float = 0.1, w_min: float = 0.05, alpha: float = 0.0, *, workers: int = 1,
           max_depth: int = MAX_DEPTH, max_boxes: int = MAX_BOXES, progress=None) -> Region:
    """Branch and bound over (s, w) boxes (module docstring). ``workers`` > 1 certifies each round's boxes in that
    many processes (the result is the same). Once ``max_boxes`` boxes have been evaluated, the boxes still pending
    are reported uncovered without evaluation."""
    for name, v in (("M", M), ("eps", eps)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    if not eps < M:
        raise ValueError(f"eps must be smaller than M, got eps={eps}, M={M}")
    if not (isinstance(w_min, int | float) and 0 < w_min < 0.5):
        raise ValueError(f"w_min must lie in (0, 0.5), got {w_min!r}")
    if not (isinstance(alpha, int | float) and 0 <= alpha <= 1):
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    t0 = time.perf_counter()
    region = Region(float(M), float(eps), float(w_min), float(alpha), workers=workers)
    pending = initial_boxes(M, eps, w_min, symmetric=alpha == 0)
    pool = None
    if workers > 1:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        evaluated = 0
        while pending:
            if evaluated + len(pending) > max_boxes:
                region.uncovered.extend(BoxResult(b, False, math.nan, math.nan, "not evaluated", 0) for b in pending)
                break
            evaluated += len(pending)
            args = [(b, eps, alpha) for b in pending]
            done = pool.map(_certify_args, args, chunksize=max(1, len(args) // (8 * workers))) if pool else \
                [_certify_args(a) for a in args]
            pending = []
            for r in done:
                region.evaluations += r.evals
                if r.certified:
                    region.results.append(r)
                elif r.box.depth < max_depth:
                    pending.extend(r.box.split())
                else:
                    region.uncovered.append(r)
            if progress is not None:
                progress(len(region.results), len(pending), len(region.uncovered))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    key = (lambda r: (r.box.w_lo, r.box.s_lo))
    region.results.sort(key=key)
    region.uncovered.sort(key=key)
    region.seconds = time.perf_counter() - t0
    return region


# --- a K = 3 slice ------------------------------------------------------------------------------------------


@cache
def _k3_functions():
    from derivations import near_optimum as n

    plain = _compile("k3", [n.Z, n.RADIUS, n.PHI], n.k3_dilation_integrands())
    shifted = [[_compile(f"k3_{k}_shift{m}", [n.Z, n.RADIUS, n.PHI], [n.k3_dilation_integrands(shift=m)[k]])
                for m in range(3)] for k in range(3)]
    v1, v2 = n.k3_basis()
    basis = [(float(a), float(b)) for a, b in zip(v1, v2, strict=True)]
    integrand = (plain, shifted, basis)
    tail = _compile("k3_tail", [n.RADIUS], list(n.k3_dilation_bound()))
    with ctx.workprec(PREC):
        weights = [arb(int(w.p)) / int(w.q) for w in n.K3_WEIGHTS]
        q = n.k3_radius_factor()
        q_min = arb(int(q.p)) / int(q.q)
    return integrand, tail, weights, q_min, [str(w) for w in n.K3_WEIGHTS]


def enclose_k3_dilation(r_lo: float, r_hi: float, phi_lo: float, phi_hi: float, *, z_budget: int = Z_BUDGET,
                        z_target: float = Z_TARGET):
    """A ball containing r∂_r G(r, φ) = Σ_k w_k E_z[r ∂_r F_k] for all r ∈ [r_lo, r_hi], φ ∈ [phi_lo, phi_hi] (K = 3
    slice, ``derivations.near_optimum.k3_dilation_integrands``), and the number of evaluations."""
    integrand, tail_fn, weights, _, _ = _k3_functions()
    with ctx.workprec(PREC):
        r = _interval(r_lo, r_hi)
        phi = _interval(phi_lo, phi_hi)

        plain, shifted, basis = integrand
        r_mid, phi_mid = (r_lo + r_hi) / 2, (phi_lo + phi_hi) / 2
        c_mid = [r_mid * (math.cos(phi_mid) * a + math.sin(phi_mid) * b) for a, b in basis]
        log_w = [math.log(float(w.mid())) for w in weights]

        def g(lo, hi):
            z = _interval(lo, hi)
            parts = plain(z, r, phi)
            total = arb(0)
            for k in range(3):
                x = c_mid[k] + (lo + hi) / 2  # the component dominating there (any choice is valid)
                m = max(range(3), key=lambda i: log_w[i] - (x - c_mid[i]) ** 2 / 2)
                (alt,) = shifted[k][m](z, r, phi)
                both = [p for p in (parts[k], alt) if p.is_finite()]
                if not both:
                    return arb(math.nan)
                best = both[0]
                for p in both[1:]:  # both contain the true range: so does their intersection
                    best = best.intersection(p) if best.overlaps(p) else arb(math.nan)
                total = total + weights[k] * best
            return total

        tail = _tail_bound(*tail_fn(arb(r_hi)), WINDOW)
        return _gaussian_enclosure(g, WINDOW, z_budget, z_target, tail)


def k3_certify_box(r_lo: float, r_hi: float, phi_lo: float, phi_hi: float, eps: float):
    """(certified, lower bound, evaluations) for ⟨θ − θ*, ∇R⟩ = 2δ² + r∂_r G(r, φ) on the part of
    {||θ − θ*|| ≥ eps} with centered means c = r e(φ), r ∈ [r_lo, r_hi], φ ∈ [phi_lo, phi_hi], K = 3, the slice's
    weights (``derivations.near_optimum.K3_WEIGHTS``): ||θ − θ*|| ≤ √3|δ| + r gives |δ| ≥ (eps − r_hi)/√3."""
    D, evals = enclose_k3_dilation(r_lo, r_hi, phi_lo, phi_hi)
    with ctx.workprec(PREC):
        delta_lo = arb(0)
        if eps > r_hi:
            delta_lo = ((arb(eps) - arb(r_hi)) / arb(3).sqrt()).lower()
        lower = D + 2 * delta_lo * delta_lo
        low = float(lower.lower()) if lower.is_finite() else -math.inf
        return low > 0, low, evals


def verify_k3_slice(M: float = 3.0, eps: float = 0.2, *, max_depth: int = 10, max_boxes: int = 20_000) -> dict:
    """Branch and bound for the K = 3 slice over boxes of (r, φ), r ∈ [0, M/√q_min], φ ∈ [0, π] (G(−c) = G(c) by
    reflection and e(φ + π) = −e(φ)); the covered region is {eps ≤ ||θ − θ*|| ≤ M} with the slice's weights and d = 1.
    Returns a JSON-able summary."""
    for name, v in (("M", M), ("eps", eps)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    t0 = time.perf_counter()
    _, _, _, q_min, wnames = _k3_functions()
    with ctx.workprec(PREC):
        r_max = math.nextafter(float((arb(M) / q_min.sqrt()).upper()), math.inf)
        pi_hi = math.nextafter(float(arb.pi().upper()), math.inf)
    r_edges = [0.0] + _geometric(eps / 2, r_max, S_RATIO)
    phi_edges = [pi_hi * k / 12 for k in range(13)]
    pending = [(a, b, c, d, 0) for a, b in zip(r_edges[:-1], r_edges[1:], strict=True)
               for c, d in zip(phi_edges[:-1], phi_edges[1:], strict=True)]
    done, uncovered, evaluations, evaluated = [], [], 0, 0
    while pending:
        if evaluated + len(pending) > max_boxes:
            uncovered += pending
            break
        evaluated += len(pending)
        nxt = []
        for a, b, c, d, depth in pending:
            ok, low, ev = k3_certify_box(a, b, c, d, eps)
            evaluations += ev
            if ok:
                done.append((a, b, c, d, low))
            elif depth < max_depth:
                if (b - a) / b >= (d - c):
                    m = (a + b) / 2
                    nxt += [(a, m, c, d, depth + 1), (m, b, c, d, depth + 1)]
                else:
                    m = (c + d) / 2
                    nxt += [(a, b, c, m, depth + 1), (a, b, m, d, depth + 1)]
            else:
                uncovered.append((a, b, c, d, depth))
        pending = nxt
    return {"K": 3, "weights": wnames, "M": M, "eps": eps, "r_max": r_max, "count": len(done),
            "uncovered_count": len(uncovered), "complete": bool(done) and not uncovered,
            "min_lower_bound": min((x[4] for x in done), default=math.nan), "evaluations": evaluations,
            "seconds": time.perf_counter() - t0}


#: the report's regions (M, eps, w_min): quick, a few seconds on one core; full, the issue's target (measured 15 s)
QUICK_REGION = (5.0, 0.1, 0.1)
FULL_REGION = (10.0, 0.1, 0.05)


def report_region(quick: bool) -> Region:
    """The region certified in the report (``QUICK_REGION`` or ``FULL_REGION``, α = 0, one process)."""
    M, eps, w_min = QUICK_REGION if quick else FULL_REGION
    return verify(M, eps, w_min, max_depth=MAX_DEPTH)


def region_figure(path, details: dict):
    """The certified boxes in the (s, w) plane, coloured by log10 of their certified lower bound of
    ⟨θ − θ*, ∇R⟩; uncovered boxes hatched in red. Returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(7, 4.5))
    boxes = details.get("boxes", []) if details else []
    if not boxes:
        ax.text(0.5, 0.5, "no certified region in the details", ha="center", va="center", transform=ax.transAxes)
    else:
        s_floor = min(b[1] for b in boxes) / 4
        rects, vals = [], []
        for s_lo, s_hi, w_lo, w_hi, lower, _ in boxes:
            lo = max(s_lo, s_floor)
            rects.append(Rectangle((lo, w_lo), s_hi - lo, w_hi - w_lo))
            vals.append(math.log10(lower))
        coll = PatchCollection(rects, cmap="viridis", edgecolor="k", linewidth=0.15)
        coll.set_array(vals)
        ax.add_collection(coll)
        fig.colorbar(coll, ax=ax, label="log10 certified lower bound of ⟨θ − θ*, ∇R⟩")
        for s_lo, s_hi, w_lo, w_hi, *_ in details.get("uncovered", []):
            lo = max(s_lo, s_floor)
            ax.add_patch(Rectangle((lo, w_lo), s_hi - lo, w_hi - w_lo, fill=False, hatch="xx", edgecolor="red"))
        ax.set_xscale("log")
        ax.set_xlim(s_floor, details.get("s_max", max(b[1] for b in boxes)))
        ax.set_ylim(min(b[2] for b in boxes), max(b[3] for b in boxes))
        ax.axvline(details.get("eps", 0), color="w", lw=0.8, ls="--")
    ax.set_xlabel("spread s = |μ_1 − μ_2| (the first column starts at s = 0)")
    ax.set_ylabel("weight w (w ↔ 1 − w symmetric)" if details.get("symmetric_in_w") else "weight w")
    if boxes:
        ax.set_title(f"{details.get('eps'):g} ≤ ||θ − θ*|| ≤ {details.get('M'):g}: {details.get('count')} boxes certified, "
                     f"{details.get('uncovered_count')} uncovered; min bound {details.get('min_lower_bound'):.2g}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _table(region: Region) -> str:
    d = region.details()
    rows = [("region", f"{region.eps:g} ≤ ||θ − θ*|| ≤ {region.M:g}, w ∈ [{region.w_min:g}, {1 - region.w_min:g}]"),
            ("candidate", "U (α = 0)" if region.alpha == 0 else f"V_α, α = {region.alpha:g}"),
            ("certified boxes", d["count"]), ("uncovered boxes", d["uncovered_count"]),
            ("integrand evaluations", d["evaluations"]), ("time (s)", f"{d['seconds']:.1f} ({region.workers} workers)"),
            ("smallest certified lower bound", f"{d['min_lower_bound']:.4g}"),
            ("η_max (certified lower bound)", "—" if d["eta_max"] is None else f"{d['eta_max']:.4g}"),
            ("verdict", "CERTIFIED" if region.complete else "NOT CERTIFIED (uncovered boxes)")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv=None) -> int:
    class Parser(argparse.ArgumentParser):
        def error(self, message):  # one line, no usage block
            raise ValueError(message)

    parser = Parser(prog="python -m rfisher.verifier", description=__doc__.splitlines()[0])
    parser.add_argument("--M", type=float, default=FULL_REGION[0])
    parser.add_argument("--eps", type=float, default=FULL_REGION[1])
    parser.add_argument("--wmin", type=float, default=FULL_REGION[2])
    parser.add_argument("--alpha", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", help="write the details to this file")
    parser.add_argument("--figure", help="write the figure to this file")
    parser.add_argument("--k3", action="store_true", help="the K = 3 slice (weights 1/5, 3/10, 1/2) on --M, --eps instead")
    options = {"M": "--M", "eps": "--eps", "w_min": "--wmin", "alpha": "--alpha", "workers": "--workers"}
    try:
        args = parser.parse_args(argv)
        if args.k3:
            print(json.dumps(verify_k3_slice(args.M, args.eps), indent=1))
            return 0
        region = verify(args.M, args.eps, args.wmin, args.alpha, workers=args.workers)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except ValueError as exc:
        name, _, rest = str(exc).partition(" ")
        print(f"error: {options.get(name, name)} {rest}", file=sys.stderr)
        return 2
    print(_table(region))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(region.details(), fh)
    if args.figure:
        region_figure(args.figure, region.details())
    return 0


if __name__ == "__main__":
    sys.exit(main())
