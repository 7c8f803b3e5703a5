"""High-precision reference values of F, R and their gradients (mpmath, ≥ 30 digits), d = 1 and 2.

This is the ground truth the tests compare the float code against, so it shares nothing numerical
with it: arithmetic is mpmath's (``DPS`` = 40 digits by default), the rule is adaptive
Gauss–Legendre (24 versus 48 nodes per piece, splitting a piece until the two agree), started on
pieces that break at every transition point of the responsibilities, and the integrand is the
closed form of ``derivations/fisher.py`` lambdified to mpmath, with the responsibilities from their
definition w_i N(x; μ_i, I) / q(x) (no log-sum-exp needed: mpmath's exponent range is unbounded).

E_{Σ w_c N(c, I)}[f] = Σ_c w_c ∫ φ(z) f(c + z) dz, on |z_a| ≤ ``RADIUS`` (φ(13) ≈ 1e−37, which
times the integrand's polynomial growth is far below the tolerance). In d = 2 the integral is
computed by a high-precision trapezoid rule instead (see ``_component_2d``).

Each call returns the values and an error bound: the sum over pieces of |GL48 − GL24|, which
bounds the error of the 48-node sums returned (they converge much faster than the 24-node ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import mpmath
import numpy as np
import sympy as sp

from rfisher.mixture import GaussianMixture, check_pair

DPS = 40
RADIUS = 13
#: Absolute tolerance of the adaptive rule (d = 1) per unit integrand scale (1 + D)³, D the
#: largest distance between means.
ABS_TOL = mpmath.mpf("1e-30")
#: d = 2: target of the trapezoid rule's step-2h sum, relative to the scale 4π(1 + D)³; the
#: returned step-h sum is far more accurate, and 1e−17 is what the error bound certifies.
TRAPEZOID_RTOL_2D = mpmath.mpf("1e-17")
RADIUS_2D = 11


@dataclass(frozen=True)
class ReferenceResult:
    value: mpmath.mpf
    gradient: list  # K × d nested lists of mpf
    error: mpmath.mpf  # bound on the absolute error of every entry

    def as_floats(self):
        return float(self.value), np.array([[float(g) for g in row] for row in self.gradient])


@cache
def _integrand(K: int, J: int, d: int, objective: str):
    """mpmath callables: outputs(x, mu, nu, r, rho) and the two responsibility definitions."""
    from derivations import fisher, scores
    from derivations.symbols import MixtureSymbols

    ms = MixtureSymbols(K, J, d)
    grads = fisher.reverse_gradient_integrand(ms) if objective == "reverse" else fisher.forward_gradient_integrand(ms)
    outs = [fisher.fisher_integrand(ms)] + [c for g in grads for c in g]
    args = [*ms.x, *[c for m in ms.mu for c in m], *[c for m in ms.nu for c in m], *ms.r, *ms.rho]
    f_out = sp.lambdify(args, outs, modules="mpmath", cse=True)
    r_def = sp.lambdify([*ms.x, *[c for m in ms.mu for c in m], *ms.w],
                        scores.responsibilities_from_definition(ms.x, ms.mu, ms.w), modules="mpmath", cse=True)
    rho_def = sp.lambdify([*ms.x, *[c for m in ms.nu for c in m], *ms.pi],
                          scores.responsibilities_from_definition(ms.x, ms.nu, ms.pi), modules="mpmath", cse=True)
    return f_out, r_def, rho_def


@cache
def _gl(degree: int, dps: int):
    """Gauss–Legendre nodes and weights on [−1, 1] (mpmath's, 3·2^(degree−1) nodes)."""
    with mpmath.workdps(dps):
        gl = mpmath.calculus.quadrature.GaussLegendre(mpmath.mp)
        return tuple(gl.calc_nodes(degree, mpmath.mp.prec))


def _rule(f, a, b, nodes):
    half = (b - a) / 2
    mid = (a + b) / 2
    acc = None
    for x, w in nodes:
        vals = f(mid + half * x)
        acc = [w * v for v in vals] if acc is None else [s + w * v for s, v in zip(acc, vals)]
    return [half * s for s in acc]


def _adaptive(f, breakpoints, tol, depth=40):
    """∫ f over [breakpoints[0], breakpoints[-1]] (f vector-valued): values, error bound."""
    lo_nodes, hi_nodes = _gl(4, mpmath.mp.dps), _gl(5, mpmath.mp.dps)
    total_len = breakpoints[-1] - breakpoints[0]
    stack = [(breakpoints[i], breakpoints[i + 1], 0) for i in range(len(breakpoints) - 1)]
    result, error = None, mpmath.mpf(0)
    while stack:
        a, b, lvl = stack.pop()
        if b <= a:
            continue
        hi = _rule(f, a, b, hi_nodes)
        lo = _rule(f, a, b, lo_nodes)
        err = max(abs(x - y) for x, y in zip(hi, lo))
        if err <= tol * (b - a) / total_len or lvl >= depth:
            result = hi if result is None else [s + v for s, v in zip(result, hi)]
            error += err
        else:
            m = (a + b) / 2
            stack.append((a, m, lvl + 1))
            stack.append((m, b, lvl + 1))
    return result, error


def _transitions_1d(centers, weights, z_offset, slope_sign=1):
    """Points z where two logits log w_k − (x − c_k)²/2 are equal, x = z_offset + z (d = 1)."""
    pts = []
    for k in range(len(centers)):
        for l in range(k + 1, len(centers)):
            dk = centers[k] - centers[l]
            if dk != 0:
                x = (centers[k] + centers[l]) / 2 + mpmath.log(weights[l] / weights[k]) / dk
                pts.append(x - z_offset)
    return pts


def _breaks(points, L):
    pts = sorted({p for p in points if -L < p < L})
    return [mpmath.mpf(-L), *pts, mpmath.mpf(L)]


def evaluate(objective: str, student: GaussianMixture, teacher: GaussianMixture, dps: int = DPS) -> ReferenceResult:
    """F (objective="forward") or R ("reverse") and the gradient, to about ``dps`` digits."""
    check_pair(student, teacher)
    if objective not in ("forward", "reverse"):
        raise ValueError(f"objective must be 'forward' or 'reverse', got {objective!r}")
    K, J, d = student.K, teacher.K, student.d
    if d > 2:
        raise ValueError("the mpmath reference covers d = 1 and d = 2")
    f_out, r_def, rho_def = _integrand(K, J, d, objective)
    with mpmath.workdps(dps):
        mp = mpmath.mpf
        mu = [[mp(float(v)) for v in row] for row in student.means]
        w = [mp(float(v)) for v in student.weights]
        nu = [[mp(float(v)) for v in row] for row in teacher.means]
        pw = [mp(float(v)) for v in teacher.weights]
        flat_mu = [c for row in mu for c in row]
        flat_nu = [c for row in nu for c in row]
        pts = mu + nu
        D = max(mpmath.sqrt(sum((a - b) ** 2 for a, b in zip(p, q))) for p in pts for q in pts)
        tol = ABS_TOL * (1 + D) ** 3
        centers, cweights = (mu, w) if objective == "reverse" else (nu, pw)
        sqrt2pi = mpmath.sqrt(2 * mpmath.pi)

        def f_at(x):
            r = r_def(*x, *flat_mu, *w)
            rho = rho_def(*x, *flat_nu, *pw)
            return f_out(*x, *flat_mu, *flat_nu, *r, *rho)

        total, err_total = None, mp(0)
        for c, wc in zip(centers, cweights):
            if d == 1:
                def g(z, c=c):
                    phi = mpmath.exp(-z * z / 2) / sqrt2pi
                    return [phi * v for v in f_at([c[0] + z])]

                bps = _transitions_1d([m[0] for m in mu], w, c[0]) + _transitions_1d([n[0] for n in nu], pw, c[0])
                vals, err = _adaptive(g, _breaks(bps, RADIUS), tol)
            else:
                vals, err = _component_2d(f_at, c, mu, w, nu, pw, wc, TRAPEZOID_RTOL_2D)
            vals = [wc * v for v in vals]
            total = vals if total is None else [s + v for s, v in zip(total, vals)]
            err_total += wc * err
        grad = [[total[1 + j * d + a] for a in range(d)] for j in range(K)]
        return ReferenceResult(value=total[0], gradient=grad, error=err_total)


def _component_2d(f_at, c, mu, w, nu, pw, wc, tol_rel):
    """∫∫ φ(y1)φ(y2) f(c + y1 e1 + y2 e2) dy1 dy2 by the trapezoid rule at high precision.

    An adaptive Gauss–Legendre rule in 2D costs far more than in 1D (transition *lines* cut the
    plane), so here the rule is the trapezoid rule, which converges geometrically for integrands
    analytic in a strip: along axis a with logit slopes σ_a (largest |⟨μ_k − μ_l, e_a⟩|), poles sit
    at distance π/σ_a and the error of step H is ≲ ρ exp(−2π²/(σ_a H) + π²/(2σ_a²)), ρ the Gaussian
    mass at the transition. H is chosen for ``tol_rel`` and the sum is taken at h = H/2, so the
    even-node sum (step H) gives the error bound |T_h − T_H| of the returned T_h. The frame has
    e1 ⟂ one logit slope (no reduction of dimension is used: this is an independent code path).
    The tests validate this rule against the adaptive Gauss–Legendre one on collinear means.
    """
    pairs = [(grp, ws, k, l) for grp, ws in ((mu, w), (nu, pw)) for k in range(len(grp)) for l in range(k + 1, len(grp))]
    slopes = [(g[k][0] - g[l][0], g[k][1] - g[l][1]) for g, _, k, l in pairs]
    e1 = (mpmath.mpf(1), mpmath.mpf(0))
    nz = [s for s in slopes if s[0] != 0 or s[1] != 0]
    if nz:
        cands = []
        for s in nz:
            n = mpmath.sqrt(s[0] ** 2 + s[1] ** 2)
            cand = (-s[1] / n, s[0] / n)
            cands.append((max(abs(t[0] * cand[0] + t[1] * cand[1]) for t in nz), cand))
        e1 = min(cands, key=lambda t: t[0])[1]
    e2 = (-e1[1], e1[0])
    pts = mu + nu
    D = max(mpmath.sqrt(sum((a - b) ** 2 for a, b in zip(p, q))) for p in pts for q in pts)
    lam0 = mpmath.log(4 * mpmath.pi * (1 + D) ** 3 / tol_rel)

    def logit(x, m, wt):
        return mpmath.log(wt) - ((x[0] - m[0]) ** 2 + (x[1] - m[1]) ** 2) / 2

    steps = []
    for e in (e1, e2):
        H = mpmath.pi * mpmath.sqrt(2 / lam0)  # the Gaussian alone
        for (g, ws, k, l), s in zip(pairs, slopes):
            sig = abs(s[0] * e[0] + s[1] * e[1])
            norm = mpmath.sqrt(s[0] ** 2 + s[1] ** 2)
            if sig == 0:
                continue
            dist = abs(logit(c, g[k], ws[k]) - logit(c, g[l], ws[l])) / norm
            lam = mpmath.log(wc) + lam0 - dist**2 / 2
            a = mpmath.pi / sig
            Hp = 2 * mpmath.pi * a / (lam + a * a / 2)
            if lam > 0 and Hp <= 2 * mpmath.pi / a:
                H = min(H, Hp)
        steps.append(H / 2)
    L = mpmath.mpf(RADIUS_2D)
    n1, n2 = (int(mpmath.ceil(L / h)) for h in steps)
    sqrt2pi = mpmath.sqrt(2 * mpmath.pi)
    phi1 = [steps[0] * mpmath.exp(-(i * steps[0]) ** 2 / 2) / sqrt2pi for i in range(-n1, n1 + 1)]
    phi2 = [steps[1] * mpmath.exp(-(j * steps[1]) ** 2 / 2) / sqrt2pi for j in range(-n2, n2 + 1)]
    fine, coarse = None, None
    for i in range(-n1, n1 + 1):
        y1 = i * steps[0]
        for j in range(-n2, n2 + 1):
            y2 = j * steps[1]
            if y1 * y1 + y2 * y2 > L * L:
                continue
            wt = phi1[i + n1] * phi2[j + n2]
            vals = f_at([c[0] + y1 * e1[0] + y2 * e2[0], c[1] + y1 * e1[1] + y2 * e2[1]])
            term = [wt * v for v in vals]
            fine = term if fine is None else [s + t for s, t in zip(fine, term)]
            if i % 2 == 0 and j % 2 == 0:
                coarse = [4 * t for t in term] if coarse is None else [s + 4 * t for s, t in zip(coarse, term)]
    # tail beyond the disk: |f| ≤ (1 + D)³(1 + ||y||) times the χ₂ tail moments
    g = mpmath.exp(-L * L / 2)
    tail = (1 + D) ** 3 * (g + L * g + mpmath.sqrt(mpmath.pi / 2) * mpmath.erfc(L / mpmath.sqrt(2)))
    err = max(abs(a - b) for a, b in zip(fine, coarse)) + tail
    return fine, err


def reverse_fisher(student, teacher, dps: int = DPS) -> ReferenceResult:
    return evaluate("reverse", student, teacher, dps)


def forward_fisher(student, teacher, dps: int = DPS) -> ReferenceResult:
    return evaluate("forward", student, teacher, dps)
