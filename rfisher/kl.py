"""KL(q_θ‖p) and KL(p‖q_θ) with their gradients in the means, by quadrature with an error estimate,
and as Lyapunov candidates for the falsifier (docs/theory.md, "Lyapunov candidates", "KL candidates").

The integrands are derived in derivations/kl.py (ℓ = log q − log p = LSE_k a_k − LSE_j b_j with the
logits a_k = log w_k + ⟨μ_k, x⟩ − ||μ_k||²/2, b_j likewise; reverse gradient reparametrised,
∇_{μ_i} KL(q‖p) = w_i E_{N(μ_i, I)}[Σ_k r_k μ_k − Σ_j ρ_j ν_j]; score-function form as a cross-check;
forward gradient −E_p[r_i (x − μ_i)]) and lambdified here; only the log-sum-exp and the softmax of the
logits are computed in numpy (max-shifted).

**The rule.** E_{N(c, I)} f = E_{y~N(0, I)} f(c + Ey) in an orthonormal frame E whose first axis is the
largest difference of means (student or teacher): a tensor trapezoid rule over the box |y_a| ≤ L with
L = ``RADIUS``, node weights Π_a h_a φ(y_a). The integrands are analytic; along axis a their singularities
(zeros of Σ_k exp(a_k), Σ_j exp(b_j)) lie at imaginary distance ≥ π/max_n |⟨n, e_a⟩| (n a difference of
means), so the step is h_a = min(``H_GAUSS``, ``POLE_FACTOR``/max_n |⟨n, e_a⟩|): the trapezoid error
behaves like exp(−2π·dist/h), and at the doubled step 2h_a it is still ≈ exp(−π²/POLE_FACTOR) ≈ 5e−15.

**Error estimate** (as ``rfisher.quadrature``): one pass gives the rule T and, for each axis a, the rule
T_a with h_a doubled (the nodes of even index along a, weights doubled); for a geometrically convergent
rule err(h) ≪ err(2h), so

    error = Σ_a |T − T_a| + ε(64 + 2√N)·Σ|w f|·(1 + M) + tail,

M a majorant of the relative size of the cancellation inside ℓ (|LSE a| + |LSE b| per unit of |ℓ|), and
tail = d·(A·2Φ(−L) + B·(2φ(L) + 2√(d−1)Φ(−L)) + C·2(Lφ(L) + Φ(−L) + (d − 1)Φ(−L))) for an integrand
bounded by A + B||z|| + C||z||² (A, B, C from the largest distance between means; L = 9 makes the tail
< 1e−15 relative). A point whose error exceeds rtol·scale + atol is recomputed with all steps × 0.6,
up to ``MAX_REFINE`` times (``converged`` says whether it made it).

The hot path of the falsifier evaluates one point or one poll batch at a time; each point gets its own
grid (points at scales 0.01 and 10 need steps that differ by 10³), vectorised over its nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from rfisher import lyapunov
from rfisher.mixture import as_batch

EPS = float(np.finfo(float).eps)
#: Half-width of the box in each rotated axis: Φ(−9) ≈ 1.1e−19.
RADIUS = 9.0
#: Largest step: the Gaussian itself is integrated by the trapezoid rule with error ≈ exp(−2π²/h²); at the
#: doubled step 0.7 that is 3e−18.
H_GAUSS = 0.35
#: Step per unit of the largest difference of means across an axis: h = POLE_FACTOR/|n·e_a| puts the
#: nearest singularity at π/|n·e_a| = (π/POLE_FACTOR)·h; the doubled step's error is ~exp(−π²/POLE_FACTOR).
POLE_FACTOR = 0.3
MAX_REFINE = 3
REFINE = 0.6
#: Largest number of nodes of one grid (per centre); a grid that would exceed it is an error, not a silent cut.
MAX_NODES = 4_000_000
KINDS = ("reverse", "forward")


@dataclass
class KLResult:
    """KL and its gradient in the means for a batch: value (B,), value_error (B,), gradient (B, K, d),
    gradient_error (B, K, d), nodes (B,) (per centre, last pass), converged (B,)."""

    kind: str
    value: np.ndarray
    value_error: np.ndarray
    gradient: np.ndarray
    gradient_error: np.ndarray
    nodes: np.ndarray
    converged: np.ndarray
    gradient_form: str = "reparametrised"
    extra: dict = field(default_factory=dict)


@cache
def _lambdified(K: int, J: int, d: int):
    import sympy as sp

    from derivations import kl as D

    f = D.forms(K, J, d)
    ms = f["symbols"]
    x, mu, nu = list(ms.x), [c for row in ms.mu for c in row], [c for row in ms.nu for c in row]
    atoms = [*x, *mu, *nu, *ms.r, *ms.rho, D.ELL]
    out = {}
    for name in ("reverse_value", "reverse_gradient", "reverse_gradient_score", "forward_value", "forward_gradient"):
        out[name] = sp.lambdify(atoms, f[name], modules="numpy", cse=True)
    out["student_logits"] = sp.lambdify([*x, *mu, *ms.w], f["student_logits"], modules="numpy", cse=True)
    out["teacher_logits"] = sp.lambdify([*x, *nu, *ms.pi], f["teacher_logits"], modules="numpy", cse=True)
    return out


def _lse_softmax(logits):
    """(LSE over axis 0, softmax over axis 0, Σ|logit| majorant) of logits (n, N), max-shifted."""
    top = np.max(logits, axis=0)
    e = np.exp(logits - top)
    s = np.sum(e, axis=0)
    return top + np.log(s), e / s, np.max(np.abs(logits), axis=0)


def _frame(mu, nu):
    """Orthonormal frame (rows) with the first row along the largest difference of means, and the
    differences (n, d)."""
    d = mu.shape[1]
    pts = [mu, nu]
    diffs = [g[k] - g[m] for g in pts for k in range(len(g)) for m in range(k + 1, len(g))]
    diffs = np.array(diffs).reshape(-1, d)
    if len(diffs) == 0 or not np.any(diffs):
        return np.eye(d), diffs
    big = diffs[int(np.argmax(np.sum(diffs * diffs, axis=1)))]
    q, _ = np.linalg.qr(np.column_stack([big, np.eye(d)]))
    E = q[:, :d].T.copy()
    return E, diffs


def _steps(E, diffs, factor):
    h = np.full(E.shape[0], H_GAUSS)
    if len(diffs):
        slope = np.max(np.abs(diffs @ E.T), axis=0)  # (d,) largest |⟨n, e_a⟩|
        with np.errstate(divide="ignore"):
            h = np.minimum(h, np.where(slope > 0, POLE_FACTOR / np.where(slope > 0, slope, 1.0), H_GAUSS))
    return h * factor


class _TooLarge(ValueError):
    pass


def _grid(E, h):
    """Nodes z (N, d) in original coordinates, weights (N,), parity masks (d, N) of even index per axis."""
    n = np.ceil(RADIUS / h).astype(np.int64)
    if np.prod(2 * n + 1) > MAX_NODES:
        raise _TooLarge(f"the KL quadrature grid would need {int(np.prod(2 * n + 1))} nodes per centre (> {MAX_NODES}): "
                         "means too far apart for this rule")
    idx = np.meshgrid(*[np.arange(-k, k + 1) for k in n], indexing="ij")
    idx = np.stack([i.reshape(-1) for i in idx])  # (d, N)
    y = idx * h[:, None]
    wts = np.prod(h[:, None] * np.exp(-0.5 * y * y) / math.sqrt(2 * math.pi), axis=0)
    z = (y.T @ E)  # Σ_a y_a e_a
    return z, wts, (idx % 2 == 0)


def _tail(d, A, B, C):
    Phi = 0.5 * math.erfc(RADIUS / math.sqrt(2))
    phi = math.exp(-RADIUS**2 / 2) / math.sqrt(2 * math.pi)
    return d * (A * 2 * Phi + B * (2 * phi + 2 * math.sqrt(max(d - 1, 0)) * Phi)
                + C * 2 * (RADIUS * phi + Phi + (d - 1) * Phi))


def _one(kind, mu, w, nu, pi, factor, form):
    """(value, value error, gradient (K, d), gradient error (K, d), nodes, scales Σ|w f| (1 + K·d,)) at one
    parameter set, by the rule of the module docstring with all steps × ``factor``."""
    K, d = mu.shape
    J = nu.shape[0]
    fns = _lambdified(K, J, d)
    E, diffs = _frame(mu, nu)
    z, wts, even = _grid(E, _steps(E, diffs, factor))
    N = len(wts)
    rules = np.vstack([wts[None], 2.0 * wts * even])  # T and, per axis a, T_a with h_a doubled: (1 + d, N)
    P = 1 + K * d
    T = np.zeros((1 + d, P))
    absum = np.zeros(P)  # Σ|w f| per output
    majsum = np.zeros(P)  # Σ w·(rounding majorant) per output
    centres, cweights = (mu, w) if kind == "reverse" else (nu, pi)
    reparam = kind == "reverse" and form == "reparametrised"
    for i, (c, wc) in enumerate(zip(centres, cweights)):
        x = c[None] + z  # (N, d)
        xs = [x[:, a] for a in range(d)]
        a_ = np.broadcast_to(np.array(fns["student_logits"](*xs, *mu.reshape(-1), *w), dtype=float).reshape(K, -1), (K, N))
        b_ = np.broadcast_to(np.array(fns["teacher_logits"](*xs, *nu.reshape(-1), *pi), dtype=float).reshape(J, -1), (J, N))
        la, r, ma = _lse_softmax(a_)
        lb, rho, mb = _lse_softmax(b_)
        ell = la - lb
        atoms = [*xs, *mu.reshape(-1), *nu.reshape(-1), *r, *rho, ell]
        val = np.broadcast_to(np.asarray(fns[f"{kind}_value"](*atoms)[0], dtype=float), (N,))
        name = "reverse_gradient" if reparam else ("reverse_gradient_score" if kind == "reverse" else "forward_gradient")
        f = np.array([np.broadcast_to(np.asarray(v, dtype=float), (N,)) for v in fns[name](*atoms)])  # (d or K·d, N)
        cols = slice(1 + i * d, 1 + (i + 1) * d) if reparam else slice(1, P)
        T[:, 0] += wc * (rules @ val)
        T[:, cols] += wc * (rules @ f.T)
        absum[0] += wc * (wts @ np.abs(val))
        absum[cols] += wc * (wts @ np.abs(f.T))
        # rounding: ℓ cancels |LSE a|, |LSE b| (each from logits of size ≤ ma, mb); the responsibilities
        # carry a relative error of a few ε per unit of the logits (as rfisher.quadrature.LOGIT_ULPS)
        majsum[0] += wc * (wts @ (np.abs(la) + np.abs(lb) + ma + mb))
        majsum[cols] += wc * (wts @ (3 * (ma + mb + 4) * np.abs(f)).T)
    span = float(np.max(np.sqrt(np.sum((mu[:, None] - nu[None]) ** 2, axis=-1))))
    if len(diffs):
        span += float(np.max(np.sqrt(np.sum(diffs * diffs, axis=1))))
    # tail: |ℓ| and |∇ℓ| grow at most linearly in ||z|| (|∇ℓ| ≤ span), the score-function form quadratically
    tail = np.full(P, _tail(d, span * (1 + span), span * (1 + 2 * span), 1 + span))
    rounding = EPS * (64 + 2 * math.sqrt(N * len(centres))) * (absum + majsum)
    discretisation = np.sum(np.abs(T[1:] - T[0]), axis=0)
    err = discretisation + rounding + tail
    return T[0, 0], err[0], T[0, 1:].reshape(K, d), err[1:].reshape(K, d), N, absum, discretisation, rounding + tail


def kl(kind: str, means, weights, teacher_means, teacher_weights=None, *, rtol: float = 1e-10, atol: float = 0.0,
       gradient_form: str = "reparametrised", too_large: str = "raise") -> KLResult:
    """KL(q‖p) (``kind="reverse"``) or KL(p‖q) (``"forward"``) and ∇_μ of it for a batch.

    means (B, K, d); weights (K,) or (B, K); teacher_means (J, d) or (B, J, d); teacher_weights (J,) or
    (B, J) (default uniform). ``gradient_form``: "reparametrised" (default, reverse only) or "score"
    (the score-function form of the reverse gradient, the cross-check). Errors as in the module docstring;
    a point is refined until error ≤ rtol·scale + atol (value: its own Σ|w f|; gradient: the largest Σ|w f|
    over the gradient entries), until its discretisation part is below the rounding-and-tail floor, or
    ``MAX_REFINE`` refinements; ``converged``: error ≤ rtol·scale + atol. A point whose grid would exceed
    ``MAX_NODES`` raises ValueError (``too_large="raise"``) or gets NaN (``"nan"``: the falsifier then
    skips it, as any point whose numbers are not finite)."""
    if too_large not in ("raise", "nan"):
        raise ValueError(f"too_large must be 'raise' or 'nan', got {too_large!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if gradient_form not in ("reparametrised", "score"):
        raise ValueError(f"gradient_form must be 'reparametrised' or 'score', got {gradient_form!r}")
    if kind == "forward" and gradient_form != "reparametrised":
        raise ValueError("gradient_form: the forward KL has one form (−E_p[r_i (x − μ_i)]); use the default")
    if not (0 < rtol < 1):
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    mu, w, nu, p = as_batch(means, weights, teacher_means, teacher_weights)
    B, K, d = mu.shape
    # KL is translation invariant: centre at the teacher's mean (smaller logits, smaller rounding)
    shift = np.einsum("bj,bjd->bd", p, nu)[:, None, :]
    mu, nu = mu - shift, nu - shift
    value, verr = np.empty(B), np.empty(B)
    grad, gerr = np.empty((B, K, d)), np.empty((B, K, d))
    nodes, ok = np.zeros(B, dtype=np.int64), np.zeros(B, dtype=bool)
    for b in range(B):
        factor = 1.0
        for attempt in range(MAX_REFINE + 1):
            try:
                v, ve, g, ge, n, absum, disc, floor = _one(kind, mu[b], w[b], nu[b], p[b], factor,
                                                           gradient_form if kind == "reverse" else "score")
            except _TooLarge:
                if too_large == "raise":
                    raise
                if attempt == 0:  # nothing computed: NaN (a refinement that grows too large keeps the last pass)
                    v, ve, g, ge, n, good = np.nan, np.nan, np.full((K, d), np.nan), np.full((K, d), np.nan), 0, False
                break
            tol = np.concatenate([[rtol * absum[0]], np.full(K * d, rtol * np.max(absum[1:]))]) + atol
            good = bool(np.all(np.concatenate([[ve], ge.reshape(-1)]) <= tol))
            # refining helps only the discretisation part; rounding and tail do not shrink with the step
            if good or attempt == MAX_REFINE or np.all(disc <= np.maximum(tol, floor)):
                break
            factor *= REFINE
        value[b], verr[b], grad[b], gerr[b], nodes[b] = v, ve, g, ge, n
        ok[b] = bool(good) and np.isfinite(v) and np.all(np.isfinite(g))
    return KLResult(kind, value, verr, grad, gerr, nodes, ok, gradient_form)


# --- as Lyapunov candidates -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuadratureMonitor(lyapunov.Monitor):
    """A ``rfisher.lyapunov.Monitor`` whose V and ∇V come from quadrature: ``gradient_error(means,
    weights, target)`` is the entrywise error bound of ``gradient`` (the falsifier adds
    ||err ∇V||·(||ĝ|| + ||err ĝ||) to its slack)."""

    gradient_error: object = None


@dataclass(frozen=True)
class KLCandidate(lyapunov.UserCandidate):
    """KL(q_θ‖N(μ*, I)) (``kind="reverse"``) or KL(N(μ*, I)‖q_θ) (``"forward"``) as a candidate for
    ``rfisher.falsifier.falsify`` and ``rfisher.lyapunov.resolve``: a UserCandidate whose builder gives
    no SymPy expression (V is an integral), resolved to a ``QuadratureMonitor``. ``rtol``: the
    quadrature's tolerance. Flow condition only: the falsifier's own confirmation needs a SymPy
    expression and reports NOT CONFIRMED; ``confirm_flow`` confirms a d = 1 point at 40 digits."""

    kind: str = "reverse"
    rtol: float = 1e-10

    def resolve(self, K: int, d: int) -> QuadratureMonitor:
        return _kl_monitor(self.name, self.kind, float(self.rtol), K, d)


def _no_expression(ms):
    return None


KL_REVERSE = KLCandidate("KL(q‖p)", _no_expression, "reverse")
KL_FORWARD = KLCandidate("KL(p‖q)", _no_expression, "forward")


@cache
def _kl_monitor(name, kind, rtol, K, d) -> QuadratureMonitor:
    last = {}

    def evaluate(means, weights, target):
        m = np.asarray(means, dtype=float)
        m = m[None] if m.ndim == 2 else m
        B = m.shape[0]
        wts = np.broadcast_to(np.asarray(weights, dtype=float), (B, K))
        t = np.broadcast_to(np.asarray(target, dtype=float).reshape(-1, d)[..., None, :], (B, 1, d))
        key = (m.tobytes(), np.ascontiguousarray(wts).tobytes(), np.ascontiguousarray(t).tobytes())
        if last.get("key") != key:  # the falsifier asks for ∇V and its error in two calls
            last["key"], last["res"] = key, kl(kind, m, wts, t.copy(), np.ones((B, 1)), rtol=rtol, too_large="nan")
        return last["res"]

    def value(means, weights, target):
        return evaluate(means, weights, target).value.copy()

    def gradient(means, weights, target):
        return evaluate(means, weights, target).gradient.copy()

    def gradient_error(means, weights, target):
        return evaluate(means, weights, target).gradient_error.copy()

    def delta(means, weights, target, grad, eta):
        # V(θ − ηg) − V(θ) from two quadratures would need their value errors in the slack, which
        # rfisher.lyapunov.change_slack does not take: refuse rather than give an unsound increase
        raise ValueError(f"candidate {name!r}: the one-step condition (and monitoring along GD) is not supported for "
                         "a quadrature-backed candidate; use the flow condition (falsify without eta)")

    return QuadratureMonitor(name, value, delta, gradient, None, gradient_error)


# --- the 40-digit reference (d = 1) and the confirmation of a flow number ----------------------------


def reference_1d(kind: str, means, weights, teacher_means, teacher_weights, dps: int = 40):
    """KL and ∇_μ KL in d = 1 at ``dps`` digits from the definitions, independently of the rule above:
    KL(q‖p) = ∫ q (log q − log p), KL(p‖q) = ∫ p (log p − log q), with log q and log p of the densities
    themselves, and the gradient by differentiating under the integral sign (∂_{μ_i} q = w_i φ(x − μ_i)(x − μ_i)):
    ∂_{μ_i} KL(q‖p) = ∫ w_i φ(x − μ_i)(x − μ_i)(log q − log p) (the term ∫ ∂_{μ_i} q vanishes),
    ∂_{μ_i} KL(p‖q) = −∫ p w_i φ(x − μ_i)(x − μ_i)/q. mpmath.quad (tanh-sinh) over (min − 16, the means,
    max + 16); returns (value, [gradient]) as mpmath numbers."""
    import mpmath

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    with mpmath.workdps(dps):
        mu = [mpmath.mpf(float(m)) for m in np.ravel(means)]
        W = [mpmath.mpf(float(x)) for x in np.ravel(weights)]
        NU = [mpmath.mpf(float(m)) for m in np.ravel(teacher_means)]
        PI = [mpmath.mpf(float(x)) for x in np.ravel(teacher_weights)]

        def q(x):
            return mpmath.fsum(a * mpmath.npdf(x - m) for a, m in zip(W, mu))

        def p(x):
            return mpmath.fsum(a * mpmath.npdf(x - m) for a, m in zip(PI, NU))

        pts = sorted(set(mu + NU))
        grid = [pts[0] - 16, *pts, pts[-1] + 16]

        def integral(f):
            return mpmath.quad(f, grid)

        def dq(i, x):
            return W[i] * mpmath.npdf(x - mu[i]) * (x - mu[i])

        if kind == "reverse":
            value = integral(lambda x: q(x) * (mpmath.log(q(x)) - mpmath.log(p(x))))
            grad = [integral(lambda x, i=i: dq(i, x) * (mpmath.log(q(x)) - mpmath.log(p(x)))) for i in range(len(mu))]
        else:
            value = integral(lambda x: p(x) * (mpmath.log(p(x)) - mpmath.log(q(x))))
            grad = [integral(lambda x, i=i: -p(x) * dq(i, x) / q(x)) for i in range(len(mu))]
        return value, grad


def confirm_flow(kind: str, means, weights, dps: int = 40):
    """⟨∇KL, ∇R⟩ at one point, d = 1, teacher N(0, 1), at ``dps`` digits: ∇R from ``rfisher.reference``
    (with its error bound e per entry), ∇KL from ``reference_1d``. Returns (D, bound): the sign of D is
    certain when |D| > bound = e·Σ|∂KL| + 10^(5−dps)·Σ|∂KL ∂R| (the quadrature error of ∇KL at dps digits is
    inside the rounding term)."""
    import mpmath

    from rfisher import GaussianMixture, reference

    m = np.asarray(means, dtype=float).reshape(-1, 1)
    w = np.asarray(weights, dtype=float)
    with mpmath.workdps(dps):
        ref = reference.reverse_fisher(GaussianMixture(m, w), GaussianMixture.single(np.zeros(1)), dps=dps)
        g = [ref.gradient[i][0] for i in range(len(m))]
        _, gk = reference_1d(kind, m[:, 0], w, [0.0], [1.0], dps=dps)
        D = mpmath.fsum(a * b for a, b in zip(gk, g))
        bound = ref.error * mpmath.fsum(abs(a) for a in gk) + mpmath.mpf(10) ** (5 - dps) * mpmath.fsum(
            abs(a * b) for a, b in zip(gk, g))
        norm = mpmath.sqrt(mpmath.fsum(a * a for a in gk)) * mpmath.sqrt(mpmath.fsum(b * b for b in g))
    return D, bound, D / norm
