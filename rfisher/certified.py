"""Certified enclosures of F, R, their gradients and one GD step's Lyapunov change (d = 1).

Floating-point agreement with a reference is evidence; a ball that provably contains the true
value is proof. Everything here is computed in arb ball arithmetic (python-flint, the
``certified`` extra): every input becomes an exact ball, every operation widens the ball by its
rounding error, and ``acb.integral`` returns a ball that contains the integral.

**The integral.** E_q[f] = Σ_c w_c ∫ φ(z) f(c + z) dz over the components c (student means for R,
teacher means for F). Each ∫ is split into the window |z| ≤ L, integrated rigorously by
``acb.integral`` (Gauss–Legendre with error bounds from the integrand's analyticity on complex
balls; the integrand is meromorphic, so its poles show up as non-finite balls and the
integrator subdivides around them), and the tails |z| > L, bounded explicitly:
with D_e = max_{i,j} |μ_i − ν_j| ≥ |e(x)| (m_θ and m_p are convex combinations of the means),
D_μ = max_{i,k} |μ_i − μ_k| ≥ |μ_j − m_θ| and G = max_{c,j} |c − μ_j| (so |x − μ_j| ≤ G + |z|),

    |e|² ≤ D_e²,   |∂_j integrand| ≤ A + B |z|,   A = 2(D_e + G D_μ D_e) [+ G D_e² for R],
                                                  B = 2 D_μ D_e [+ D_e² for R],

and ∫_{|z|>L} φ = erfc(L/√2), ∫_{|z|>L} |z| φ = 2φ(L) (docs/theory.md, "Identities" (I9); the same
bound as ``rfisher.planning.tail_one``, here evaluated in ball arithmetic). The bound is added
to each result as a ball of that radius.

**The integrand** is printed from ``derivations`` (the same closed forms the numpy and numba
code are generated from: ``derivations.codegen`` outputs, ``derivations.scores.logits``) into
ball arithmetic at run time; responsibilities are a softmax shifted by the largest logit
(``B.softmax``), which stays finite for separations up to 1e4 (arb exponents are unbounded).

**Lines.** Configurations in any d whose means (and teacher means) lie on one line reduce
exactly to d = 1: with x = c + s u + y, y ⟂ u, the logits differ only through s (the common
−||y||²/2 cancels in the softmax), e(x) is parallel to u, and the components of ∇_{μ_j} along
y are odd in y. ``tests/test_certified.py`` proves this symbolically; ``enclose`` applies it
when the points are exactly collinear.

Weights are used exactly as the doubles given, like the float code and the mpmath reference do
(``GaussianMixture`` accepts sums within 1e−12 of 1; 0.3 + 0.7 is 1 − 5.6e−17 exactly). To
certify an exactly normalized mixture, give weights whose sum is exactly 1 (e.g. dyadic ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache, reduce

import numpy as np

from rfisher import validation
from rfisher.mixture import GaussianMixture, check_pair

try:
    from flint import acb, arb, ctx
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("rfisher.certified needs python-flint: pip install 'rfisher[certified]'") from exc

#: Largest separation |μ_i − μ_k|, |μ_i − ν_j| accepted (the issue's range; beyond it the
#: window sizes and exponents are untested).
MAX_SEPARATION = 1e4


class CertificationError(ValueError):
    """An enclosure came out non-finite or wider than asked: nothing is certified."""


class B:
    """Ball-arithmetic namespace for code printed by ``derivations.printing`` (module ``"B"``)."""

    log = staticmethod(lambda z: z.log())
    sqrt = staticmethod(lambda z: z.sqrt())
    exp = staticmethod(lambda z: z.exp())

    @staticmethod
    def q(p: int, q: int):
        return arb(p) / q

    @staticmethod
    def softmax(a):
        """r_k = exp(a_k − a_m) / Σ_l exp(a_l − a_m), m the largest real part at the midpoint.

        The same number for any m; this m keeps every exponential's modulus ≲ 1 on complex balls,
        where exp(a_l − a_k) for a far component k would be a huge ball of unknown phase."""
        m = max(range(len(a)), key=lambda k: float(a[k].real.mid()))
        e = [(ak - a[m]).exp() for ak in a]
        inv = 1 / sum(e[1:], e[0])
        return [ek * inv for ek in e]

    @staticmethod
    def heaviside(x):
        """H(x) with H(0) = ½, as a ball: [0, 1] when the ball x contains 0 (and is not exactly 0)."""
        if x > 0:
            return arb(1)
        if x < 0:
            return arb(0)
        if x == 0:
            return arb(1) / 2
        return arb(0.5, 0.5)

    @staticmethod
    def sign(x):
        """sign(x) as a ball: [−1, 1] when the ball x contains 0 (and is not exactly 0)."""
        if x > 0:
            return arb(1)
        if x < 0:
            return arb(-1)
        if x == 0:
            return arb(0)
        return arb(0, 1)

    @staticmethod
    def max(*args):
        return reduce(lambda a, b: a.max(b), args)

    @staticmethod
    def min(*args):
        return reduce(lambda a, b: a.min(b), args)


# --- the integrand, printed from the derivations ------------------------------------------------


@cache
def integrand(K: int, J: int, objective: str):
    """f(x, mu, w, nu, pi) -> [||e||², ∂_{μ_0}, …, ∂_{μ_{K−1}}] (d = 1) on balls, from the derivations.

    ``objective`` selects the gradient integrand: "reverse" includes the moving-measure term.
    """
    from derivations import scores
    from derivations.codegen import integrand_outputs, output_names
    from derivations.printing import print_block, print_expr
    from derivations.symbols import MixtureSymbols

    if objective not in ("forward", "reverse"):
        raise ValueError(f"objective must be 'forward' or 'reverse', got {objective!r}")
    ms = MixtureSymbols(K, J, 1)
    lines = ["x0 = x"]
    lines += [f"mu_{i}_0 = mu[{i}]" for i in range(K)] + [f"w_{i} = w[{i}]" for i in range(K)]
    lines += [f"nu_{j}_0 = nu[{j}]" for j in range(J)] + [f"pi_{j} = pi[{j}]" for j in range(J)]
    for name, centers, weights, n in (("r", ms.mu, ms.w, K), ("rho", ms.nu, ms.pi, J)):
        if n == 1:
            continue  # the atom is replaced by 1 in the outputs
        a = scores.logits(ms.x, centers, weights)
        lines += [f"{name}_a{k} = {print_expr(a[k], 'B')}" for k in range(n)]
        lines.append(", ".join(f"{name}_{k}" for k in range(n)) + " = B.softmax([" +
                     ", ".join(f"{name}_a{k}" for k in range(n)) + "])")
    names = [f"out_{p}" for p in range(len(output_names(ms)))]
    lines += print_block(integrand_outputs(ms, objective), names, "B")
    lines.append("return [" + ", ".join(names) + "]")
    src = "def f(x, mu, w, nu, pi):\n" + "\n".join("    " + line for line in lines) + "\n"
    namespace = {"B": B}
    exec(compile(src, f"<rfisher.certified integrand K={K} J={J} {objective}>", "exec"), namespace)
    return namespace["f"]


# --- enclosures ----------------------------------------------------------------------------------


@dataclass
class Enclosure:
    """Balls containing F or R (``value``) and ∇_{μ_j} (``gradient``, K × d nested lists)."""

    objective: str
    value: arb
    gradient: list
    prec: int
    window: float
    tail: arb = field(repr=False)

    def radius(self) -> float:
        """The largest radius among the value and the gradient's components (an upper bound)."""
        balls = [self.value] + [c for row in self.gradient for c in row]
        return max(float(b.rad()) for b in balls)

    def mid(self):
        """(value, gradient (K, d)) midpoints as floats."""
        return float(self.value.mid()), np.array([[float(c.mid()) for c in row] for row in self.gradient])

    def contains(self, value, gradient) -> bool:
        """True if the given numbers (floats, strings or mpmath) all lie in the balls."""
        vals = [value] + [c for row in gradient for c in row]
        balls = [self.value] + [c for row in self.gradient for c in row]
        with ctx.workprec(self.prec):  # decimal strings become balls at the enclosure's precision
            return all(b.contains(arb(str(v))) for b, v in zip(balls, vals, strict=True))


def _ball(v) -> arb:
    return v if isinstance(v, arb) else arb(float(v))


def _check_finite(ball, what: str) -> None:
    if not ball.is_finite():
        raise CertificationError(f"{what} is not finite ({ball}): the enclosure failed; try a higher precision")


def _window(prec: int, spread: float) -> float:
    """L with φ-tail ≈ 2^−prec·(1 + spread)^−3: the tail bound then sits below the integration error."""
    return math.sqrt(2.0 * (prec * math.log(2.0) + 3.0 * math.log1p(spread) + 4.0))


def _tail(objective: str, mu, nu, centers, cweights, L: float):
    """The explicit Gaussian tail bounds (value, gradient) of the module docstring, as arb."""
    d_e = max((m - n).abs_upper() for m in mu for n in nu)
    d_mu = max((m - k).abs_upper() for m in mu for k in mu)
    g = max((c - m).abs_upper() for c in centers for m in mu)
    L_ = arb(L)
    prob = (L_ / arb(2).sqrt()).erfc()
    first = 2 * (-L_ * L_ / 2).exp() / (2 * arb.pi()).sqrt()
    A = 2 * (d_e + g * d_mu * d_e) + (g * d_e * d_e if objective == "reverse" else 0)
    Bc = 2 * d_mu * d_e + (d_e * d_e if objective == "reverse" else 0)
    total = sum(cweights, arb(0))
    return (total * d_e * d_e * prob).abs_upper(), (total * (A * prob + Bc * first)).abs_upper()


def enclose_1d(objective: str, mu, w, nu, pi, prec: int = 128, max_radius: float | None = None,
               gradient_only: bool = False) -> Enclosure:
    """Enclosure of the objective and its gradient for d = 1, means and weights given as numbers or
    arb balls (ball means are allowed: the result then holds for every point of the balls).

    Weights are used as given (module docstring). Raises ``CertificationError`` if a result is not
    finite or (when given) wider than ``max_radius``. With ``gradient_only`` the value is not
    integrated (it is returned as the unknown ball [0 ± inf] and not checked).
    """
    validation.choice(objective, "objective", ("forward", "reverse"))
    prec = validation.precision(prec)
    max_radius = validation.optional(validation.positive, max_radius, "max_radius")
    K, J = len(mu), len(nu)
    with ctx.workprec(prec):
        mu = [_ball(m) for m in mu]
        nu = [_ball(n) for n in nu]
        w = [_ball(v) for v in w]
        pi = [_ball(v) for v in pi]
        for name, ws in (("weights", w), ("teacher weights", pi)):
            if not all(v > 0 for v in ws):
                raise ValueError(f"{name} must be positive, got {ws}")
        pts = mu + nu
        spread = max(float((a - b).abs_upper()) for a in pts for b in pts)
        if not spread <= MAX_SEPARATION * (1 + 1e-12):
            raise ValueError(f"separation {spread:.3g} exceeds the certified range {MAX_SEPARATION:g}")
        f = integrand(K, J, objective)
        centers, cweights = (mu, w) if objective == "reverse" else (nu, pi)
        L = _window(prec, spread)
        tol = arb(2) ** (-prec)
        norm = 1 / (2 * arb.pi()).sqrt()
        totals = [arb(0)] * (1 + K)
        wanted = list(range(1, 1 + K)) if gradient_only else list(range(1 + K))
        for c, wc in zip(centers, cweights, strict=True):
            # two real outputs per integral: f_p + i f_q is analytic and real-valued parts on the
            # real axis, so its integral is ∫f_p + i ∫f_q, each enclosed by the complex ball
            for pair in (wanted[i:i + 2] for i in range(0, len(wanted), 2)):

                def g(z, _analytic, c=c, pair=pair):
                    vals = f(c + z, mu, w, nu, pi)
                    h = vals[pair[0]] if len(pair) == 1 else vals[pair[0]] + acb(0, 1) * vals[pair[1]]
                    return h * (-z * z / 2).exp()

                val = acb.integral(g, -L, L, rel_tol=tol, abs_tol=tol)
                totals[pair[0]] = totals[pair[0]] + wc * norm * val.real
                if len(pair) == 2:
                    totals[pair[1]] = totals[pair[1]] + wc * norm * val.imag
        tail_v, tail_g = _tail(objective, mu, nu, centers, cweights, L)
        value = arb(0, math.inf) if gradient_only else totals[0] + arb(0, tail_v)
        grad = [[t + arb(0, tail_g)] for t in totals[1:]]
        out = Enclosure(objective, value, grad, prec, L, tail_g)
        if not gradient_only:
            _check_finite(value, f"{objective} value")
        for j, row in enumerate(grad):
            _check_finite(row[0], f"{objective} gradient component {j}")
        if max_radius is not None and out.radius() > max_radius:
            raise CertificationError(f"enclosure radius {out.radius():.2e} exceeds max_radius {max_radius:.2e} "
                                     f"at {prec} bits; raise the precision")
        return out


# --- reduction of collinear configurations ---------------------------------------------------


def collinear_frame(points: np.ndarray):
    """(c, v) with every point exactly on c + t v (checked in exact rational arithmetic), or None.

    c is the first point and v the difference to the point farthest from it (v = 0 if all
    points coincide).
    """
    P = [[Fraction(float(x)) for x in row] for row in np.asarray(points, dtype=float)]
    c = P[0]
    diffs = [[a - b for a, b in zip(p, c)] for p in P]
    v = max(diffs, key=lambda u: sum(x * x for x in u))
    d = len(c)
    for u in diffs:
        for a in range(d):
            for b in range(a + 1, d):
                if u[a] * v[b] - u[b] * v[a] != 0:
                    return None
    return c, v


def enclose(objective: str, student: GaussianMixture, teacher: GaussianMixture, prec: int = 128,
            max_radius: float | None = None, gradient_only: bool = False) -> Enclosure:
    """Certified F or R and gradient for d = 1, or for any d when all means lie exactly on a line.

    On a line c + t u (u = v/||v||), the problem is the d = 1 problem in the coordinates
    t_k = ⟨μ_k − c, u⟩, and ∇_{μ_j} = (1-D derivative) · u (module docstring).
    """
    check_pair(student, teacher)
    validation.choice(objective, "objective", ("forward", "reverse"))
    prec = validation.precision(prec)
    max_radius = validation.optional(validation.positive, max_radius, "max_radius")
    if student.d == 1:
        return enclose_1d(objective, list(student.means[:, 0]), list(student.weights),
                          list(teacher.means[:, 0]), list(teacher.weights), prec, max_radius, gradient_only)
    frame = collinear_frame(np.concatenate([student.means, teacher.means]))
    if frame is None:
        raise ValueError(f"certified enclosures need d = 1 or means on one line; these {student.d}-dimensional "
                         "means are not exactly collinear")
    c, v = frame
    with ctx.workprec(prec):
        vv = sum((arb(x.numerator) / x.denominator) ** 2 for x in v)
        if vv == 0:
            u = [arb(1)] + [arb(0)] * (student.d - 1)
        else:
            u = [(arb(x.numerator) / x.denominator) / vv.sqrt() for x in v]

        def coord(p):
            return sum(((arb(float(a)) - arb(b.numerator) / b.denominator) * ua for a, b, ua in zip(p, c, u)), arb(0))

        mu = [coord(p) for p in student.means]
        nu = [coord(p) for p in teacher.means]
        one = enclose_1d(objective, mu, list(student.weights), nu, list(teacher.weights), prec,
                         gradient_only=gradient_only)
        grad = [[row[0] * ua for ua in u] for row in one.gradient]
    out = Enclosure(objective, one.value, grad, prec, one.window, one.tail)
    if max_radius is not None and out.radius() > max_radius:
        raise CertificationError(f"enclosure radius {out.radius():.2e} exceeds max_radius {max_radius:.2e}")
    return out


def reverse_fisher(student, teacher, prec: int = 128) -> Enclosure:
    """Certified R and ∇R (see ``enclose``)."""
    return enclose("reverse", student, teacher, prec)


def forward_fisher(student, teacher, prec: int = 128) -> Enclosure:
    """Certified F and ∇F (see ``enclose``)."""
    return enclose("forward", student, teacher, prec)


# --- certified Lyapunov steps ----------------------------------------------------------------

DECREASE, INCREASE, UNDECIDED = "certified decrease", "certified increase", "undecided"


def verdict(change: arb) -> str:
    """The sign of a ball: certain only if the ball excludes 0."""
    if change < 0:
        return DECREASE
    if change > 0:
        return INCREASE
    return UNDECIDED


@cache
def _candidate(name: str, K: int):
    """V and ΔV(μ, w, μ*, g, η) on balls, printed from ``derivations.lyapunov`` (d = 1)."""
    from derivations import lyapunov
    from derivations.printing import print_expr
    from derivations.symbols import MixtureSymbols

    ms = MixtureSymbols(K, 1, 1)
    cand = {c.name: c for c in lyapunov.BUILTIN}
    if name not in cand:
        raise ValueError(f"unknown candidate {name!r}; certified candidates: {sorted(cand)} and 'R'")
    args = ", ".join([f"mu_{i}_0" for i in range(K)] + [f"w_{i}" for i in range(K)] + ["target_0"]
                     + [f"g_{i}_0" for i in range(K)] + ["eta"])
    src = (f"def V({args}):\n    return {print_expr(cand[name].builder(ms), 'B')}\n"
           f"def dV({args}):\n    return {print_expr(cand[name].one_step_change(ms), 'B')}\n")
    namespace = {"B": B}
    exec(compile(src, f"<rfisher.certified candidate {name} K={K}>", "exec"), namespace)
    return namespace["V"], namespace["dV"]


@dataclass
class StepCertificate:
    """One GD step θ' = θ − η∇R(θ) on R (single-Gaussian teacher μ*), and V(θ') − V(θ) as a ball."""

    candidate: str
    change: arb
    verdict: str
    next_means: list  # balls containing θ − η∇R(θ)
    gradient: Enclosure


def certify_step(means, weights, target: float, step_size: float, candidates=("V_w", "R"), prec: int = 128):
    """Certified one-step change of each candidate ('V_w', 'V_max', 'V_bar', 'R') for d = 1.

    θ − η∇R(θ) is computed in ball arithmetic from the enclosure of ∇R; ΔV uses the closed form
    of ``derivations.lyapunov`` where there is one (V_w, V_bar), else V(θ') − V(θ); for R it is
    R(θ') − R(θ), with R(θ') enclosed over the whole ball θ'. Returns {candidate: StepCertificate}.
    """
    student = GaussianMixture(validation.real_array(means, "means", ndim=1).reshape(-1, 1), weights)
    step_size = validation.positive(step_size, "step_size")
    target = validation.finite(target, "target")
    prec = validation.precision(prec)
    if isinstance(candidates, str) or not isinstance(candidates, list | tuple):
        raise validation.InvalidArgumentType(f"candidates must be a list of names, got {validation.show(candidates)}")
    teacher = GaussianMixture.single([target])
    K = student.K
    with ctx.workprec(prec):
        enc = enclose("reverse", student, teacher, prec, gradient_only="R" not in candidates)
        mu = [arb(float(m)) for m in student.means[:, 0]]
        w = [arb(float(v)) for v in student.weights]
        g = [row[0] for row in enc.gradient]
        eta = arb(float(step_size))
        t = arb(float(target))
        nxt = [m - eta * gi for m, gi in zip(mu, g, strict=True)]
        out = {}
        for name in candidates:
            if name == "R":
                after = enclose_1d("reverse", nxt, w, [t], [arb(1)], prec)
                change = after.value - enc.value
            else:
                _, dV = _candidate(name, K)
                change = dV(*mu, *w, t, *g, eta)
            _check_finite(change, f"ΔV for {name}")
            out[name] = StepCertificate(name, change, verdict(change), nxt, enc)
        return out


@dataclass
class CertifiedTrajectory:
    """GD on R from ``means[0]`` where every step's ΔV_w is certified negative.

    ``means[t + 1]`` is the midpoint of the ball containing θ_t − η∇R(θ_t), rounded to a double:
    the visited points are exact, and each is within ``shadow[t]`` of the exact GD step from the
    previous one (a certified inexact GD). ``changes[t]`` is the ball of V_w(θ_t − η∇R(θ_t)) −
    V_w(θ_t). ``stopped`` says why the run ended early (an undecided or increasing step), if it did.
    """

    means: np.ndarray
    changes: list
    verdicts: list
    shadow: np.ndarray
    stopped: str | None

    @property
    def certified_steps(self) -> int:
        return sum(v == DECREASE for v in self.verdicts)


def certified_trajectory(means, weights, target: float, step_size: float, steps: int, prec: int = 64,
                         progress=None) -> CertifiedTrajectory:
    """Run ``steps`` GD steps on R (d = 1) certifying ΔV_w < 0 at each; stop at the first step that
    is not a certified decrease. ``progress(t)`` is called after each step if given."""
    steps = validation.integer(steps, "steps", minimum=0)
    prec = validation.precision(prec)
    if progress is not None and not callable(progress):
        raise validation.InvalidArgumentType(f"progress must be None or a function of the step, got {validation.show(progress)}")
    theta = validation.real_array(means, "means", ndim=1)
    GaussianMixture(theta.reshape(-1, 1), weights)  # the weights' checks, also when steps = 0
    step_size, target = validation.positive(step_size, "step_size"), validation.finite(target, "target")
    path, changes, verdicts, shadow = [theta.copy()], [], [], []
    stopped = None
    for t in range(steps):
        cert = certify_step(theta, weights, target, step_size, candidates=("V_w",), prec=prec)["V_w"]
        changes.append(cert.change)
        verdicts.append(cert.verdict)
        nxt = np.array([float(b.mid()) for b in cert.next_means])
        shadow.append(max(float((b - arb(float(x))).abs_upper()) for b, x in zip(cert.next_means, nxt, strict=True)))
        if progress is not None:
            progress(t)
        if cert.verdict != DECREASE:
            stopped = f"step {t}: {cert.verdict} (ΔV_w ∈ {cert.change.str(15, radius=True)})"
            break
        theta = nxt
        path.append(theta.copy())
    return CertifiedTrajectory(np.array(path), changes, verdicts, np.array(shadow), stopped)
