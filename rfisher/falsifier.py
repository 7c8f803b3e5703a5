"""The falsifier: search for points where a Lyapunov candidate increases under reverse GD.

Setting: student q_θ = Σ_i w_i N(μ_i, I), single-Gaussian teacher N(μ*, I) with μ* = 0 (R and the
built-in candidates are translation invariant; a user candidate is evaluated with μ* = 0), θ = (μ_1,
…, μ_K), g = ∇R(θ). For a candidate V two conditions are attacked:

* **flow**: V does not increase along the gradient flow θ' = −∇R, dV/dt = −⟨∇V, g⟩ ≤ 0, i.e.
  D(θ) = ⟨∇V, g⟩ ≥ 0. The search minimises the normalised flow derivative

      c(θ) = ⟨∇V, g⟩ / (||∇V|| ||g||)  ∈ [−1, 1]  (the cosine between ∇V and ∇R);

* **one step** at a given η: ΔV = V(θ − ηg) − V(θ) ≤ 0, normalised as −ΔV / (η ||∇V|| ||g||)
  (which tends to c(θ) as η → 0).

**Slack.** g is known as the quadrature's ĝ with a conservative entrywise error bound err
(``rfisher.quadrature.integrate`` at rtol ``RTOL``). Then |⟨∇V, g⟩ − ⟨∇V, ĝ⟩| ≤ ||∇V||·||err||, and
rounding adds at most (Kd + 16)·ε·Σ_p |∂_pV| |ĝ_p| (Kd roundings in the dot product, 16ε for each
∂_pV as ``rfisher.lyapunov.change_slack`` assumes for V). A point violates the flow condition only
when D̂ + slack < 0, i.e. when its *margin* m = (D̂ + slack)/(||∇V|| ||ĝ||) is negative; the
one-step slack is ``rfisher.lyapunov.change_slack``. Margins are what the search minimises.

**Stages** (``falsify``):

1. search: hypothesis' targeted search (``hypothesis.target`` on −m, one label per condition and
   size (K, d), so that the best example of every size is improved) over configurations with
   K ∈ K_range, d ∈ d_range, weights ≥ ``w_floor``, the farthest mean at distance s from μ*, s
   log-uniform in [0.01, 10] (``configurations``);
2. refine: a compass search over the means (± h·s along every coordinate and a ×(1 ± h)
   rescaling, h halving on failure) from the best point of each size; each iteration polls all
   points at once, one ``integrate`` batch per size;
3. shrink: while the violation persists, drop components, map to a line (d = 1), drop axes, put
   components on μ*, round coordinates and weights to short decimals (the simplest proposal that
   keeps the violation, in a fixed order);
4. confirm: ``confirm`` recomputes the violation in ball arithmetic (``rfisher.certified``, when
   python-flint is present and the point is in d = 1 or collinear) and with the 40-digit reference
   (``rfisher.reference``, d ≤ 2, ∇V in SymPy at 50 digits). A violation that confirms in neither is
   reported as "not confirmed", never as a refutation.

**Non-smooth candidates.** At a tie of V_max the SymPy derivative (Heaviside(0) = ½) is a
nonnegative combination of the tied components' gradients u_k = (μ_k − μ*)/||μ_k − μ*||; if it
gives D < 0, some ⟨u_k, ∂_kR⟩ < 0, and the one-sided derivative of the max, max_k −⟨u_k, ∂_kR⟩,
is positive: a violation at a tie is still a violation.

**R + c·V** (``ObjectivePlus``). ∇(R + cV) = g + c∇V, so along the flow
d(R + cV)/dt = −||g||² − c⟨∇V, g⟩: it is ≤ 0 wherever ⟨∇V, g⟩ ≥ 0, and positive exactly where
⟨∇V, g⟩ < −||g||²/c. So R + cV fails along the flow itself (for every step size), not only in the
one-step condition, wherever the ratio ρ = −⟨∇V, g⟩/||g||² exceeds 1/c. For V = V_w this happens for
every fixed c > 0: at a spread s = max_i ||μ_i − μ*|| with the mean offset δ = Σ w_i μ_i − μ* of order
s³, g is of order s³ (the spread part of ∇R) while ⟨∇V_w, g⟩ ≈ −s⁴ is possible, so ρ grows like s⁻².
Measured (K = 2, d = 1, the light component at −s, the heavy one placed to maximise ρ, which puts
δ ≈ −0.7·s³ for w₁ = 0.01): 1/max ρ = 0.10·s², 1.6·s², 22·s² for w₁ = 0.01, 0.1, 0.3 (s = 0.01 to
0.3), so R + c·V_w increases along the flow somewhere at spread s as soon as c > 0.1·s².
(Scaling one fixed configuration down keeps ρ bounded: δ and s then shrink together.)
The falsifier finds it directly: at c = 1, μ = (0.01, −0.0001), w = (0.01, 0.99) gives
cos(∇(R + V_w), ∇R) = −0.69, certified in ball arithmetic.

**Reproducibility.** The same seed gives the same result bit for bit in any process: hypothesis
runs with an explicit seed, no database and settings that do not inherit the active profile;
hypothesis' mining of constants from the loaded modules is switched off during the search
(``_no_local_constants``: otherwise what else the process imported changes the examples); every
reduction that feeds a decision is an explicit sum in a fixed order (``_dot``), never a
BLAS or SIMD reduction; the refinement and shrinking decisions use only those numbers, and no
stage stops on wall-clock time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from rfisher import lyapunov
from rfisher.quadrature import integrate

EPS = float(np.finfo(float).eps)

#: Relative accuracy of ∇R in the search (``integrate``'s rtol, norm-wise, as the counterexample
#: search uses). Measured at the smallest scale searched (means 0.01 from μ*, K = 3, d = 1): the error
#: bound of ∇R is ≤ 2e−10·||∇R||, far below the normalised derivatives at stake (≥ 4e−5 for U).
RTOL = 1e-9
#: Smallest weight searched: the quadrature is validated against the mpmath reference for weights
#: down to 0.01 (README, "How the numbers are computed").
W_FLOOR = 0.01
#: Scales of the means around μ* (issue 12: "means at scales 0.01 to 10").
SCALE_RANGE = (0.01, 10.0)
#: Default budget: hypothesis examples per candidate. Chosen for time, not for any verdict: with the
#: refinement and shrinking below, one candidate (flow condition) takes 10–35 s on one core, under
#: the 60 s target of issue 12 with room for a busy machine (benchmarks/bench_falsifier.py).
DEFAULT_BUDGET = 1500
#: Points refined per condition (the best of each size (K, d), best first: 9 = every size of the
#: default ranges), compass iterations per point, first and last relative step.
REFINE_POINTS = 9
REFINE_ITERATIONS = 40
REFINE_H0, REFINE_HMIN = 0.25, 2.0**-12
#: Quadrature nodes the refinement of one condition may use (about 10 s at the ~3e7 nodes/s the
#: kernels reach on one core; cheap configurations never reach it, K = 4, d = 3 ones do).
REFINE_NODES = 200_000_000
#: Quadrature nodes the search stage may use (about 15 s at ~3e7 nodes/s): examples drawn after
#: that are not evaluated. Only targeted runs that settle on K = 4, d = 3 at scales ≳ 1 (1e6
#: nodes per point) reach it; the other sizes cost 1e2–1e4 nodes per point.
SEARCH_NODES = 400_000_000
#: Weights are multiples of 2^−30 summing exactly to 1, so every consumer (quadrature, reference,
#: certified) sees the same doubles: ``GaussianMixture`` divides by the float sum, which is then 1.
WEIGHT_QUANTUM = 2.0**-30

FLOW, ONE_STEP = "flow", "one-step"
CONFIRMED, CERTIFIED, NOT_CONFIRMED, NO_VIOLATION = (
    "confirmed (40 digits)", "certified (ball arithmetic)", "not confirmed", "no violation found")


# --- candidates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectivePlus:
    """The candidate R + c·V for a candidate V (``base``: anything ``rfisher.lyapunov.resolve``
    accepts except "R"); ``base=None`` is R itself. ∇(R + cV) = ∇R + c∇V."""

    c: float
    base: object = None

    @property
    def name(self) -> str:
        if self.base is None:
            return "R"
        return f"R + {self.c:g}·{_spec_name(self.base)}"


def _spec_name(spec) -> str:
    return spec if isinstance(spec, str) else spec.name


class _Candidate:
    """A candidate spec resolved lazily per size (K, d); R + c·V keeps c and V apart."""

    def __init__(self, spec):
        if isinstance(spec, ObjectivePlus):
            if spec.base == lyapunov.OBJECTIVE:
                raise ValueError("candidate: ObjectivePlus base must be a candidate V other than 'R'")
            if not (math.isfinite(spec.c) and spec.c >= 0):
                raise ValueError(f"candidate: ObjectivePlus c must be finite and ≥ 0, got {spec.c!r}")
            self.plus, self.c, self.base = True, float(spec.c), spec.base
        elif isinstance(spec, str) and spec == lyapunov.OBJECTIVE:
            self.plus, self.c, self.base = True, 0.0, None
        else:
            self.plus, self.c, self.base = False, 0.0, spec
        self.spec = spec
        self.name = _spec_name(spec)
        self._monitors = {}

    def monitor(self, K: int, d: int):
        if self.base is None:
            return None
        if (K, d) not in self._monitors:
            mon = lyapunov.resolve(self.base, K, d)
            if not isinstance(mon, lyapunov.Monitor) or mon.gradient is None:
                raise ValueError(f"candidate {self.name!r} has no gradient: the falsifier needs ∇V")
            self._monitors[K, d] = mon
        return self._monitors[K, d]

    def expression(self, ms):
        """The SymPy expression of V (the base of R + cV; 0 for R), or None when there is none."""
        import sympy as sp

        from derivations import lyapunov as L

        spec = self.base
        if spec is None:
            return sp.Integer(0)
        if isinstance(spec, str):
            builtin = {c.name: c.builder for c in L.BUILTIN}
            return builtin[spec](ms) if spec in builtin else None
        if isinstance(spec, lyapunov.FamilyMember):
            # float(parameter), as FamilyMember.resolve uses: a SymPy Float holds that double exactly
            return L.FAMILIES[spec.family].builder(ms, float(spec.parameter))
        if isinstance(spec, lyapunov.UserCandidate):
            return sp.sympify(spec.builder(ms))
        builder = getattr(spec, "builder", None)
        return sp.sympify(builder(ms)) if builder is not None else None


# --- configurations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Configuration:
    """Student means (K × d nested tuples) and weights (K,), teacher N(0, I)."""

    means: tuple
    weights: tuple

    @property
    def K(self) -> int:
        return len(self.means)

    @property
    def d(self) -> int:
        return len(self.means[0])

    def arrays(self):
        return np.array(self.means, dtype=float), np.array(self.weights, dtype=float)

    @staticmethod
    def of(means, weights) -> Configuration:
        # + 0.0 turns −0.0 (from rounding) into 0.0
        return Configuration(tuple(tuple(float(v) + 0.0 for v in row) for row in np.asarray(means)),
                             tuple(float(v) for v in np.asarray(weights)))

    def __str__(self) -> str:
        return f"means={[list(r) for r in self.means]}, weights={list(self.weights)}"


def _dyadic_weights(raw, w_floor: float) -> tuple:
    """Weights ≥ w_floor, proportional to raw above the floor, as multiples of WEIGHT_QUANTUM that
    sum exactly to 1 (explicit sums in a fixed order)."""
    K = len(raw)
    total = 0.0
    for r in raw:
        total += r + 1e-9
    w = [w_floor + (1 - K * w_floor) * (r + 1e-9) / total for r in raw]
    q = [math.ceil(v / WEIGHT_QUANTUM) * WEIGHT_QUANTUM for v in w[:-1]]
    rest = 1.0
    for v in q:
        rest -= v
    q.append(rest)
    if q[-1] < w_floor:  # take the deficit from the largest weight (≥ 1/K, far above the floor)
        need = math.ceil(w_floor / WEIGHT_QUANTUM) * WEIGHT_QUANTUM - q[-1]
        k = max(range(K - 1), key=lambda i: q[i])
        q[k] -= need
        q[-1] += need
    return tuple(q)


def configurations(K_range=(2, 4), d_range=(1, 3), w_floor: float = W_FLOOR, scale_range=SCALE_RANGE):
    """The hypothesis strategy of the search (module docstring, stage 1): K, d, a scale s
    log-uniform in ``scale_range``, per component a point x_i ∈ [−1, 1]^d or μ* (one in four),
    rescaled so that max_i ||μ_i − μ*|| = s, and weights ≥ ``w_floor`` (``_dyadic_weights``)."""
    from hypothesis import strategies as st

    lo, hi = math.log10(scale_range[0]), math.log10(scale_range[1])

    @st.composite
    def build(draw):
        K = draw(st.integers(*K_range))
        d = draw(st.integers(*d_range))
        s = 10.0 ** draw(st.floats(lo, hi))
        x = []
        for _ in range(K):
            on_target = draw(st.integers(0, 3)) == 3  # a quarter of the components sit on μ*
            row = [draw(st.floats(-1.0, 1.0)) for _ in range(d)]
            x.append([0.0] * d if on_target else row)
        # the farthest component at distance exactly s: the spread max_i ||μ_i − μ*|| is the scale drawn
        top = _spread(np.array(x))
        means = tuple(tuple(s * v / top if top > 0 else 0.0 for v in row) for row in x)
        raw = [draw(st.floats(0.0, 1.0)) for _ in range(K)]
        return Configuration(means, _dyadic_weights(raw, w_floor))

    return build()


# --- evaluation -----------------------------------------------------------------------------------


def _dot(a, b):
    """Σ_p a_p b_p per row of (B, ...) arrays, summed in the fixed order p = 0, 1, …: elementwise
    float operations only, so the bits do not depend on the batch, the memory alignment or BLAS."""
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    acc = a[:, 0] * b[:, 0]
    for p in range(1, a.shape[1]):
        acc = acc + a[:, p] * b[:, p]
    return acc


def reverse_gradient(means, weights):
    """(R, its error, ∇R, its entrywise error, quadrature nodes) for a batch, teacher N(0, I):
    ``integrate`` at RTOL."""
    B, K, d = means.shape
    res = integrate("reverse", means, weights, np.zeros((1, d)), rtol=RTOL)
    return (res.value[:, 0].copy(), res.error[:, 0].copy(), res.value[:, 1:].reshape(B, K, d).copy(),
            res.error[:, 1:].reshape(B, K, d).copy(), res.nodes.copy())


def _evaluate(cand: _Candidate, means, weights, eta, objective_gradient):
    """Flow and one-step numbers for a batch of one size: dict of (B,) arrays."""
    B, K, d = means.shape
    zero = np.zeros(d)
    R0, R0_err, g, err, *rest = objective_gradient(means, weights)
    nodes = np.asarray(rest[0], dtype=np.int64) if rest else np.zeros(B, dtype=np.int64)
    P = K * d
    ag = np.abs(g)
    ng, ne = np.sqrt(_dot(g, g)), np.sqrt(_dot(err, err))
    mon = cand.monitor(K, d)
    gb = np.zeros_like(g) if mon is None else np.broadcast_to(np.asarray(mon.gradient(means, weights, zero), float),
                                                              g.shape)
    if cand.plus:
        c = cand.c
        G = g + c * gb
        nb = np.sqrt(_dot(gb, gb))
        D = _dot(g, g) + c * _dot(gb, g)
        slack = ne * (2 * ng + ne + c * nb) + (P + 16) * EPS * (_dot(ag, ag) + c * _dot(np.abs(gb), ag))
        nV = np.sqrt(_dot(G, G))
    else:
        D = _dot(gb, g)
        nV = np.sqrt(_dot(gb, gb))
        slack = nV * ne + (P + 16) * EPS * _dot(np.abs(gb), ag)
    extra = getattr(mon, "gradient_error", None)  # quadrature-backed candidates: ∇V's own error bound
    if extra is not None:
        ev = np.broadcast_to(np.asarray(extra(means, weights, zero), float), g.shape)
        slack = slack + np.sqrt(_dot(ev, ev)) * (ng + ne)
    norm = nV * ng
    ok = np.isfinite(norm) & (norm > 0) & np.isfinite(D) & np.isfinite(slack)
    safe = np.where(ok, norm, 1.0)
    out = {"c_flow": np.where(ok, D / safe, np.nan), "m_flow": np.where(ok, (D + slack) / safe, np.inf),
           "D": D, "D_slack": slack, "w_min": np.min(weights, axis=1), "nodes": nodes}
    if eta is not None:
        if cand.plus:
            R1, R1_err, g1, _, *rest = objective_gradient(means - eta * g, weights)
            if rest:
                out["nodes"] = nodes + np.asarray(rest[0], dtype=np.int64)
            dmu = 4 * EPS * (np.abs(means) + eta * ag)
            ng1 = np.sqrt(_dot(g1, g1))
            delta = R1 - R0
            # R at the step taken with ĝ instead of g (moved by ≤ η·err) and at the rounded iterate
            s = R0_err + R1_err + 2 * eta * ng1 * ne + ng1 * np.sqrt(_dot(dmu, dmu)) + 4 * EPS * (np.abs(R0) + np.abs(R1))
            if mon is not None and c != 0:
                dv = np.asarray(mon.delta(means, weights, zero, g, eta), float)
                delta = delta + c * dv
                s = s + c * lyapunov.change_slack(mon, means, weights, zero, g, err, eta, dv)
        else:
            delta = np.asarray(mon.delta(means, weights, zero, g, eta), float)
            s = lyapunov.change_slack(mon, means, weights, zero, g, err, eta, delta)
        okd = ok & np.isfinite(delta) & np.isfinite(s)
        den = np.where(okd, eta * norm, 1.0)
        out.update(c_step=np.where(okd, -delta / den, np.nan), m_step=np.where(okd, (s - delta) / den, np.inf),
                   delta=delta, delta_slack=s)
    return out


@dataclass(frozen=True)
class Evaluation:
    """The numbers of one point for one condition: the normalised derivative (c or −ΔV/(η||∇V||
    ||ĝ||)), the margin (normalised value plus slack; < 0 is a violation), the raw value (D̂ =
    ⟨∇V, ĝ⟩ or ΔV) and its slack."""

    normalised: float
    margin: float
    raw: float
    slack: float

    @property
    def violated(self) -> bool:
        return self.margin < 0


def _evaluation(ev: dict, i: int, condition: str) -> Evaluation:
    if condition == FLOW:
        return Evaluation(float(ev["c_flow"][i]), float(ev["m_flow"][i]), float(ev["D"][i]), float(ev["D_slack"][i]))
    return Evaluation(float(ev["c_step"][i]), float(ev["m_step"][i]), float(ev["delta"][i]), float(ev["delta_slack"][i]))


class _Evaluator:
    """Evaluates lists of configurations (any sizes) in batches, one ``integrate`` call per size, and
    records (min weight, c, margins) of every point evaluated."""

    def __init__(self, cand, eta, objective_gradient):
        self.cand, self.eta, self.objective_gradient = cand, eta, objective_gradient
        self.log = []
        self.count = 0
        self.nodes = 0  # quadrature nodes used: the cost measure of the refinement's budget

    def __call__(self, configs: list[Configuration]) -> list[dict]:
        out = [None] * len(configs)
        groups = {}
        for i, cfg in enumerate(configs):
            groups.setdefault((cfg.K, cfg.d), []).append(i)
        for idx in groups.values():
            means = np.array([configs[i].means for i in idx], dtype=float)
            weights = np.array([configs[i].weights for i in idx], dtype=float)
            with np.errstate(all="ignore"):  # ∇V_max at a component on μ* is 0/0: NaN, then margin inf
                ev = _evaluate(self.cand, means, weights, self.eta, self.objective_gradient)
            self.nodes += int(sum(int(n) for n in ev["nodes"]))
            self.log.append(np.stack([ev["w_min"], ev["c_flow"], ev["m_flow"]] +
                                     ([ev["c_step"], ev["m_step"]] if self.eta is not None else []), axis=1))
            for j, i in enumerate(idx):
                out[i] = {k: v[j:j + 1] for k, v in ev.items()}
        self.count += len(configs)
        return out

    def samples(self) -> np.ndarray:
        cols = 5 if self.eta is not None else 3
        return np.concatenate(self.log, axis=0) if self.log else np.empty((0, cols))


@contextmanager
def _no_local_constants():
    """Hypothesis (≥ 6.131) mixes into its examples constants found in every loaded local module (and
    caches them per constraint), so the examples depend on what else the process imported and ran.
    Within the search it sees none, and an empty cache.
    (Internal API; tests/test_falsifier.py's fresh-process test fails if this stops working.)"""
    try:
        from hypothesis.internal.conjecture import providers
        empty = providers.Constants(integers=providers.SortedSet(),
                                    floats=providers.SortedSet(key=providers.float_to_int),
                                    bytes=providers.SortedSet(), strings=providers.SortedSet())
        original = providers._get_local_constants
    except (ImportError, AttributeError):  # an older hypothesis: no local constants to switch off
        yield
        return
    cache = providers.CONSTANTS_CACHE  # per-constraint choices, filled from the local constants of earlier runs
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE = type(cache)(1024)
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE = cache


# --- refinement and shrinking ---------------------------------------------------------------------


def _margin_key(condition):
    return "m_flow" if condition == FLOW else "m_step"


def _spread(x) -> float:
    """max_i ||μ_i − μ*|| (μ* = 0), with the fixed-order sums of ``_dot``."""
    return math.sqrt(max(float(_dot(row[None], row[None])[0]) for row in x))


def _refine(evaluator: _Evaluator, starts: list, condition: str, iterations: int, scale_range, node_budget: int):
    """Compass search on the margin from each (Configuration, margin) start; returns the end points
    with their margins. Each iteration polls every active point (± h·spread along each coordinate,
    ×(1 ± h) around μ*), all polls of one size in one batch; the best poll is taken if it lowers the
    margin, else h halves. Polls whose spread leaves ``scale_range`` are not taken (the space stays
    the one searched). Stops after ``iterations``, when every h < REFINE_HMIN, or once the
    quadrature nodes used exceed ``node_budget`` (a deterministic measure of the time spent)."""
    key = _margin_key(condition)
    X = [np.array(cfg.means, dtype=float) for cfg, _ in starts]
    W = [np.array(cfg.weights, dtype=float) for cfg, _ in starts]
    f = [float(m) for _, m in starts]
    h = [REFINE_H0] * len(starts)
    start_nodes = evaluator.nodes
    for _ in range(iterations):
        if evaluator.nodes - start_nodes > node_budget:
            break
        active = [j for j in range(len(starts)) if h[j] >= REFINE_HMIN]
        if not active:
            break
        polls, owner = [], []
        for j in active:
            x = X[j]
            K, d = x.shape
            flat = x.reshape(-1)
            step = h[j] * max(_spread(x), scale_range[0])
            for p in range(K * d):
                for sgn in (1.0, -1.0):
                    y = flat.copy()
                    y[p] += sgn * step
                    polls.append(y.reshape(K, d))
                    owner.append(j)
            for y in (x * (1 + h[j]), x / (1 + h[j])):
                polls.append(y)
                owner.append(j)
        evs = evaluator([Configuration.of(y, W[j]) for y, j in zip(polls, owner)])
        best = {}
        for y, j, e in zip(polls, owner, evs):
            m = float(e[key][0]) if scale_range[0] <= _spread(y) <= scale_range[1] else math.inf
            if j not in best or m < best[j][0]:  # strict: the first of equal minima, order-fixed
                best[j] = (m, y)
        for j in active:
            m, y = best[j]
            if m < f[j]:
                X[j], f[j] = y, m
            else:
                h[j] *= 0.5
    return [(Configuration.of(X[j], W[j]), f[j]) for j in range(len(starts))]


def _digits(x: float) -> int:
    """Significant decimal digits of the shortest repr of x (0 for 0)."""
    if x == 0:
        return 0
    s = repr(abs(float(x))).split("e")[0].replace(".", "").strip("0")
    return max(len(s), 1)


def _complexity(cfg: Configuration):
    return (cfg.K, cfg.d, sum(_digits(v) for row in cfg.means for v in row) + sum(_digits(v) for v in cfg.weights))


def _weights_ok(w, w_floor) -> bool:
    # in the searched space, and exactly normalised (so every consumer uses these very doubles)
    return all(v >= w_floor for v in w) and float(np.sum(np.asarray(w))) == 1.0


def _structural(cfg: Configuration, w_floor: float) -> list[Configuration]:
    X, w = cfg.arrays()
    K, d = X.shape
    out = []
    for k in range(K):  # drop component k: its weight spread proportionally, or given to the heaviest
        if K > 1:
            rest = np.delete(w, k)
            heavy = rest.copy()
            heavy[int(np.argmax(heavy))] += w[k]
            for v in (rest / float(np.sum(rest)), heavy):
                if _weights_ok(v, w_floor):
                    out.append(Configuration.of(np.delete(X, k, axis=0), v))
    if d > 1:  # onto the line through μ* and the farthest component
        far = max(range(K), key=lambda i: float(_dot(X[i][None], X[i][None])[0]))
        n = math.sqrt(float(_dot(X[far][None], X[far][None])[0]))
        if n > 0:
            u = X[far] / n
            out.append(Configuration.of(np.array([[float(_dot(X[i][None], u[None])[0])] for i in range(K)]), w))
        for a in range(d):
            out.append(Configuration.of(np.delete(X, a, axis=1), w))
    for k in range(K):  # component k on μ*
        if np.any(X[k] != 0):
            Y = X.copy()
            Y[k] = 0.0
            out.append(Configuration.of(Y, w))
    return out


def _round_sig(x: float, sig: int) -> float:
    if x == 0:
        return 0.0
    return float(f"{x:.{max(sig, 1)}g}")


def _roundings(cfg: Configuration, w_floor: float) -> list[Configuration]:
    X, w = cfg.arrays()
    out = []
    for n in range(0, 17):  # all means to n decimals
        Y = np.round(X, n)
        if np.any(Y != X):
            out.append(Configuration.of(Y, w))
    K = len(w)
    for n in range(1, 17):  # all weights to n decimals, the last one completing the sum
        v = [round(float(x), n) for x in w[:-1]]
        last = 1.0
        for x in v:
            last -= x
        v.append(round(last, n))
        if v != list(w) and _weights_ok(v, w_floor) and K > 1:
            out.append(Configuration.of(X, v))
    for i in range(X.shape[0]):  # one coordinate one significant digit shorter
        for a in range(X.shape[1]):
            dg = _digits(X[i, a])
            if dg > 0:
                Y = X.copy()
                Y[i, a] = _round_sig(X[i, a], dg - 1) if dg > 1 else 0.0
                out.append(Configuration.of(Y, w))
    return out


def _shrink(evaluator: _Evaluator, cfg: Configuration, condition: str, w_floor: float, max_rounds: int = 60):
    """Simplify ``cfg`` while the violation persists (margin < 0): the first proposal, in a fixed
    order, that keeps it and lowers (K, d, digits) is taken, until none does."""
    key = _margin_key(condition)
    for _ in range(max_rounds):
        here = _complexity(cfg)
        props = [c for c in _structural(cfg, w_floor) + _roundings(cfg, w_floor) if _complexity(c) < here]
        seen, uniq = set(), []
        for c in props:
            if c not in seen:
                seen.add(c)
                uniq.append(c)
        # the simplest proposal that keeps the violation, the first of equally simple ones: evaluated
        # by increasing complexity (one batch per level), stopping at the first level that has one
        levels = sorted({_complexity(c) for c in uniq})
        chosen = None
        for level in levels:
            batch = [c for c in uniq if _complexity(c) == level]
            evs = evaluator(batch)
            ok = [c for c, e in zip(batch, evs) if e[key][0] < 0]
            if ok:
                chosen = ok[0]
                break
        if chosen is None:
            break
        cfg = chosen
    return cfg


# --- confirmation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """An independent recomputation of a violation. ``status``: CERTIFIED (ball arithmetic proves
    it), CONFIRMED (40 digits, beyond the reference's error bound), or NOT_CONFIRMED (``notes``
    say why). ``reference`` and ``ball``: the recomputed D = ⟨∇V, ∇R⟩ (flow) or ΔV (one step)."""

    status: str
    reference: str | None = None
    ball: str | None = None
    notes: tuple = ()

    @property
    def confirmed(self) -> bool:
        return self.status in (CONFIRMED, CERTIFIED)


def _exact(x: float):
    import sympy as sp

    return sp.Rational(float(x))


def _sympy_forms(cand: _Candidate, K: int, d: int):
    from derivations import lyapunov as L
    from derivations.symbols import MixtureSymbols

    ms = MixtureSymbols(K, 1, d)
    V = cand.expression(ms)
    if V is None:
        return ms, None, None
    return ms, V, [c for row in L.gradient(ms, V) for c in row]


def _mp_eval(exprs, subs, dps: int = 50):
    import mpmath
    import sympy as sp

    return [mpmath.mpf(sp.N(sp.sympify(e).xreplace(subs), dps)) for e in exprs]


def _subs(ms, means, weights, mp_means=None):
    import sympy as sp

    K, d = len(means), len(means[0])
    s = {ms.mu[i][a]: (_exact(means[i][a]) if mp_means is None else sp.Float(mp_means[i][a], 50))
         for i in range(K) for a in range(d)}
    s.update({ms.w[i]: _exact(weights[i]) for i in range(K)})
    s.update({ms.target[a]: 0 for a in range(d)})
    return s


def _confirm_40(cand, cfg, condition, eta, forms):
    """(verdict, text): verdict +1 violation beyond the bound, −1 the opposite sign beyond it, 0 undecided."""
    import mpmath

    from rfisher import GaussianMixture, reference

    ms, V, grad = forms
    K, d = cfg.K, cfg.d
    means, w = cfg.arrays()
    teacher = GaussianMixture.single(np.zeros(d))
    with mpmath.workdps(reference.DPS):
        mp = mpmath.mpf
        ref = reference.reverse_fisher(GaussianMixture(means, w), teacher)
        g = [ref.gradient[i][a] for i in range(K) for a in range(d)]
        e = ref.error
        c = mp(cand.c)
        rnd = mp(10) ** (5 - reference.DPS)  # 40-digit rounding of the sums, generously
        if condition == FLOW:
            gv = _mp_eval(grad, _subs(ms, cfg.means, cfg.weights))
            if cand.plus:
                D = sum(x * x for x in g) + c * sum(a * b for a, b in zip(gv, g))
                bound = e * (2 * sum(abs(x) for x in g) + len(g) * e + c * sum(abs(a) for a in gv))
                bound += rnd * (sum(x * x for x in g) + c * sum(abs(a * b) for a, b in zip(gv, g)))
            else:
                D = sum(a * b for a, b in zip(gv, g))
                bound = e * sum(abs(a) for a in gv) + rnd * sum(abs(a * b) for a, b in zip(gv, g))
            verdict = 1 if D + bound < 0 else (-1 if D - bound > 0 else 0)
            return verdict, f"D = {mpmath.nstr(D, 20)} ± {mpmath.nstr(bound, 3)}"
        eta_ = mp(float(eta))
        flat = [mp(float(v)) for row in cfg.means for v in row]
        new = [m - eta_ * gp for m, gp in zip(flat, g)]
        new_rows = [new[i * d:(i + 1) * d] for i in range(K)]
        s0, s1 = _subs(ms, cfg.means, cfg.weights), _subs(ms, cfg.means, cfg.weights, new_rows)
        V0, V1 = _mp_eval([V], s0)[0], _mp_eval([V], s1)[0]
        dV1 = _mp_eval(grad, s1)
        # θ' = θ − η∇R is known within η·e per entry: first-order change of V, doubled (40 digits
        # is evidence, not proof; the ball arithmetic below is the proof)
        bound_v = 2 * eta_ * e * sum(abs(x) for x in dV1) + rnd * (abs(V0) + abs(V1))
        if cand.plus:
            new_dbl = [float(x) for x in new]
            ref1 = reference.reverse_fisher(GaussianMixture(np.array(new_dbl).reshape(K, d), w), teacher)
            g1 = [ref1.gradient[i][a] for i in range(K) for a in range(d)]
            shift = [abs(x - mp(y)) + eta_ * e for x, y in zip(new, new_dbl)]
            dR = ref1.value - ref.value
            bound = (ref.error + ref1.error + 2 * sum(abs(a) * b for a, b in zip(g1, shift))
                     + rnd * (abs(ref.value) + abs(ref1.value)))
            delta = dR + c * (V1 - V0)
            bound += c * bound_v
        else:
            delta, bound = V1 - V0, bound_v
        verdict = 1 if delta - bound > 0 else (-1 if delta + bound < 0 else 0)
        return verdict, f"ΔV = {mpmath.nstr(delta, 20)} ± {mpmath.nstr(bound, 3)}"


def _ball_forms(cand: _Candidate, K: int, d: int, forms):
    """V and ∇V on arb balls, printed from the SymPy expression (``derivations.printing``, module B)."""
    from derivations.printing import print_block
    from rfisher import certified

    ms, V, grad = forms
    args = [f"mu_{i}_{a}" for i in range(K) for a in range(d)] + [f"w_{i}" for i in range(K)] + \
        [f"target_{a}" for a in range(d)]
    gnames = [f"g_{p}" for p in range(len(grad))]
    src = (f"def V({', '.join(args)}):\n" + "\n".join("    " + x for x in print_block([V], ["v"], "B")) +
           "\n    return v\n" + f"def dV({', '.join(args)}):\n" +
           "\n".join("    " + x for x in print_block(grad, gnames, "B")) + f"\n    return [{', '.join(gnames)}]\n")

    def copysign(one, x):  # sign(x) for the printed code; x is an exact ball here, nonzero
        if x > 0:
            return one
        if x < 0:
            return -one
        raise certified.CertificationError("sign of a ball that contains 0")

    namespace = {"B": certified.B, "copysign": copysign}
    exec(compile(src, f"<rfisher.falsifier ball candidate {cand.name} K={K} d={d}>", "exec"), namespace)
    return namespace["V"], namespace["dV"]


def _confirm_ball(cand, cfg, condition, eta, forms, prec: int = 128):
    """(verdict, text) in arb ball arithmetic (d = 1 or exactly collinear with μ* = 0)."""
    from flint import arb, ctx

    from rfisher import certified

    K, d = cfg.K, cfg.d
    means, w = cfg.arrays()
    if d == 1:
        base, direction = [0.0], [1.0]
    else:
        frame = certified.collinear_frame(np.concatenate([means, np.zeros((1, d))]))
        if frame is None:
            return None, "not collinear"
        base, direction = frame
    Vb, dVb = _ball_forms(cand, K, d, forms)
    need_value = cand.plus and condition == ONE_STEP
    with ctx.workprec(prec):
        def ball(x):
            return arb(x.numerator) / x.denominator if hasattr(x, "numerator") and not isinstance(x, float) else arb(float(x))

        vv = sum((ball(x) ** 2 for x in direction), arb(0))
        u = [arb(1)] + [arb(0)] * (d - 1) if vv == 0 else [ball(x) / vv.sqrt() for x in direction]
        c0 = [ball(x) for x in base]

        def coord(p):
            return sum(((arb(float(a)) - b) * ua for a, b, ua in zip(p, c0, u)), arb(0))

        t = [coord(p) for p in means]
        t_star = coord(np.zeros(d))
        wb = [arb(float(v)) for v in w]
        enc = certified.enclose_1d("reverse", t, wb, [t_star], [arb(1)], prec, gradient_only=not need_value)
        G1 = [row[0] for row in enc.gradient]
        G = [G1[i] * u[a] for i in range(K) for a in range(d)]
        mu = [arb(float(v)) for row in cfg.means for v in row]
        tgt = [arb(0)] * d
        c = arb(cand.c)
        if condition == FLOW:
            gv = dVb(*mu, *wb, *tgt)
            D = sum((a * b for a, b in zip(gv, G)), arb(0))
            if cand.plus:
                D = sum((x * x for x in G), arb(0)) + c * D
            verdict = 1 if D < 0 else (-1 if D > 0 else 0)
            return verdict, f"D ∈ {D.str(12, radius=True)}"
        eta_ = arb(float(eta))
        new = [m - eta_ * gp for m, gp in zip(mu, G)]
        dv = Vb(*new, *wb, *tgt) - Vb(*mu, *wb, *tgt)
        if cand.plus:
            after = certified.enclose_1d("reverse", [ti - eta_ * gi for ti, gi in zip(t, G1)], wb, [t_star], [arb(1)], prec)
            dv = after.value - enc.value + c * dv
        verdict = 1 if dv > 0 else (-1 if dv < 0 else 0)
        return verdict, f"ΔV ∈ {dv.str(12, radius=True)}"


def confirm(candidate, cfg: Configuration, condition: str = FLOW, eta: float | None = None, *,
            ball: bool = True) -> Confirmation:
    """Recompute a violation of ``condition`` at ``cfg`` independently of the float search: if ``ball``
    and python-flint is present, in ball arithmetic (d = 1 or collinear), and with the 40-digit
    reference (d = 1, and d = 2 unless the ball already proved it). CERTIFIED if the ball proves it
    (and the 40 digits do not contradict it), CONFIRMED if the 40 digits show it beyond their error
    bound (and no ball contradicts it), NOT_CONFIRMED otherwise (d = 3 off a line, a candidate
    without a SymPy expression, python-flint missing where only the ball applies, or an opposite or
    undecided sign: the ``notes`` say which)."""
    cand = candidate if isinstance(candidate, _Candidate) else _Candidate(candidate)
    if condition not in (FLOW, ONE_STEP):
        raise ValueError(f"condition must be {FLOW!r} or {ONE_STEP!r}, got {condition!r}")
    if condition == ONE_STEP and not (eta is not None and math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a positive number for the one-step condition, got {eta!r}")
    notes, ref_text, ball_text = [], None, None
    forms = _sympy_forms(cand, cfg.K, cfg.d)
    if forms[1] is None:
        return Confirmation(NOT_CONFIRMED, notes=(f"{cand.name} has no SymPy expression to evaluate at 40 digits",))
    ref_v = ball_v = None
    if ball:
        try:
            import flint  # noqa: F401
        except ImportError:
            notes.append("python-flint is not installed: no ball arithmetic")
        else:
            from rfisher.certified import CertificationError

            try:
                ball_v, ball_text = _confirm_ball(cand, cfg, condition, eta, forms)
            except CertificationError as exc:
                ball_v, ball_text = 0, f"enclosure failed: {exc}"
            if ball_v is None:
                ball_text = None
                notes.append(f"ball arithmetic: d = {cfg.d} and the means are not collinear")
            elif ball_v != 1:
                notes.append("ball arithmetic: " + ("the opposite sign is certified" if ball_v == -1 else "undecided"))
    if cfg.d == 1 or (cfg.d == 2 and ball_v != 1):
        # the d = 2 reference (a high-precision trapezoid rule) takes from 1 s to minutes as the means
        # separate; where the ball already proves the violation it adds nothing and is skipped
        ref_v, ref_text = _confirm_40(cand, cfg, condition, eta, forms)
        if ref_v != 1:
            notes.append("40 digits: " + ("the opposite sign" if ref_v == -1 else "within the error bound"))
    elif cfg.d == 2:
        notes.append("40 digits: skipped (d = 2, certified in ball arithmetic)")
    else:
        notes.append(f"d = {cfg.d}: the 40-digit reference covers d ≤ 2")
    if ball_v == 1 and ref_v != -1:
        status = CERTIFIED
    elif ref_v == 1 and ball_v != -1:
        status = CONFIRMED
    else:
        status = NOT_CONFIRMED
    return Confirmation(status, ref_text, ball_text, tuple(notes))


# --- the falsifier --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """The worst point found for one condition: ``worst`` after refinement, ``shrunk`` after
    shrinking (equal to ``worst`` when there is no violation), each with its Evaluation."""

    condition: str
    worst: Configuration
    worst_evaluation: Evaluation
    shrunk: Configuration
    shrunk_evaluation: Evaluation
    confirmation: Confirmation | None  # of ``shrunk`` (or of ``worst`` if only that one confirmed)
    confirmed_point: Configuration | None = None

    @property
    def violated(self) -> bool:
        return self.worst_evaluation.violated

    @property
    def status(self) -> str:
        if not self.violated:
            return NO_VIOLATION
        return self.confirmation.status if self.confirmation is not None else NOT_CONFIRMED

    @property
    def refuted(self) -> bool:
        return self.confirmation is not None and self.confirmation.confirmed

    def summary(self) -> str:
        ev = self.worst_evaluation
        head = f"{self.condition}: worst normalised derivative {ev.normalised:.4g} (margin {ev.margin:.3g}) at {self.worst}"
        if not self.violated:
            return head + f" — {NO_VIOLATION}"
        se = self.shrunk_evaluation
        conf = self.confirmation
        text = f"{head}\n  shrunk: {self.shrunk} (normalised {se.normalised:.4g}, raw {se.raw:.4g} ± {se.slack:.2g})"
        text += f"\n  {self.status}"
        if conf is not None:
            text += "".join(f"; {x}" for x in (conf.reference, conf.ball) if x) + "".join(f"; {n}" for n in conf.notes)
        return text


@dataclass(frozen=True)
class FalsifierResult:
    """What ``falsify`` found: ``flow`` and ``one_step`` (None without η) Findings, the settings,
    the number of points evaluated and ``samples`` (n, 3 or 5): min weight, c, flow margin[, one-step
    normalised, one-step margin] of every point evaluated (for the lower envelope against w_min)."""

    candidate: str
    flow: Finding | None
    one_step: Finding | None
    eta: float | None
    budget: int
    seed: int
    n_evaluations: int
    samples: np.ndarray = field(repr=False)

    @property
    def refuted(self) -> bool:
        return any(f is not None and f.refuted for f in (self.flow, self.one_step))

    @property
    def violated(self) -> bool:
        return any(f is not None and f.violated for f in (self.flow, self.one_step))

    def summary(self) -> str:
        lines = [f"{self.candidate}: {self.n_evaluations} points (budget {self.budget} examples, seed {self.seed})"]
        for f in (self.flow, self.one_step):
            if f is not None:
                lines.append(f.summary() if f.condition == FLOW else f"η = {self.eta}: " + f.summary())
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Every number as repr (exact for floats), and a hash of the samples: equal dicts mean
        equal results bit for bit."""
        import hashlib

        def fin(f):
            if f is None:
                return None
            return {"worst": repr(f.worst), "worst_evaluation": repr(f.worst_evaluation), "shrunk": repr(f.shrunk),
                    "shrunk_evaluation": repr(f.shrunk_evaluation), "confirmation": repr(f.confirmation),
                    "confirmed_point": repr(f.confirmed_point)}

        return {"candidate": self.candidate, "flow": fin(self.flow), "one_step": fin(self.one_step), "eta": repr(self.eta),
                "budget": self.budget, "seed": self.seed, "n_evaluations": self.n_evaluations,
                "samples_sha256": hashlib.sha256(np.ascontiguousarray(self.samples).tobytes()).hexdigest()}


def _check_range(name, r, lo, hi=None):
    if not (isinstance(r, tuple | list) and len(r) == 2 and all(isinstance(v, int | np.integer) for v in r)
            and lo <= r[0] <= r[1] and (hi is None or r[1] <= hi)):
        raise ValueError(f"{name} must be a pair of integers lo ≤ hi with lo ≥ {lo}" + (f", hi ≤ {hi}" if hi else "") +
                         f", got {r!r}")


def _check_falsify_arguments(budget, eta, K_range, d_range, search_nodes, refine_nodes, w_floor, scale_range):
    """``falsify``'s numeric arguments: a ValueError naming the first bad one."""
    if not (isinstance(budget, int | np.integer) and budget >= 1):
        raise ValueError(f"budget must be a positive integer (hypothesis examples), got {budget!r}")
    if eta is not None and not (isinstance(eta, int | float) and math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be None or a positive finite step size, got {eta!r}")
    _check_range("K_range", K_range, 1)
    _check_range("d_range", d_range, 1)
    for name, n in (("search_nodes", search_nodes), ("refine_nodes", refine_nodes)):
        if not (isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 0):
            raise ValueError(f"{name} must be a non-negative integer (quadrature nodes), got {n!r}")
    if not (0 < w_floor < 1 / K_range[1]):
        raise ValueError(f"w_floor must be in (0, 1/{K_range[1]}), got {w_floor!r}")
    if not (len(scale_range) == 2 and 0 < scale_range[0] <= scale_range[1] and math.isfinite(scale_range[1])):
        raise ValueError(f"scale_range must be (lo, hi) with 0 < lo ≤ hi < inf, got {scale_range!r}")


def _finding(cand, evaluator, cond, seen, eta, refine_points, refine_iterations, scale_range, refine_nodes, w_floor,
             confirm_violations) -> Finding:
    """After the search, one condition's finding: refine the best point of each size (best first), take the
    worst, and if it violates the condition shrink it and confirm it (module docstring). ``seen``: the
    search's (margin, order, Configuration)."""
    ranked = sorted(seen, key=lambda t: (t[0], t[1]))
    starts, sizes = [], set()
    for m, _, cfg in ranked:  # the best point of each size, best first
        if (cfg.K, cfg.d) not in sizes:
            sizes.add((cfg.K, cfg.d))
            starts.append((cfg, m))
        if len(starts) == refine_points:
            break
    refined = _refine(evaluator, starts, cond, refine_iterations, scale_range, refine_nodes)
    pool = refined + [(cfg, m) for m, _, cfg in ranked[:1]]
    worst = min(pool, key=lambda t: t[1])[0]
    worst_ev = _evaluation(evaluator([worst])[0], 0, cond)
    shrunk, shrunk_ev, conf, conf_point = worst, worst_ev, None, None
    if worst_ev.violated:
        shrunk = _shrink(evaluator, worst, cond, w_floor)
        shrunk_ev = _evaluation(evaluator([shrunk])[0], 0, cond)
        if confirm_violations:
            conf, conf_point = confirm(cand, shrunk, cond, eta), shrunk
            if not conf.confirmed and shrunk != worst:
                alt = confirm(cand, worst, cond, eta)
                if alt.confirmed:
                    conf, conf_point = alt, worst
    return Finding(cond, worst, worst_ev, shrunk, shrunk_ev, conf, conf_point)


def falsify(candidate, budget: int = DEFAULT_BUDGET, *, eta: float | None = None, K_range=(2, 4), d_range=(1, 3),
            seed: int = 0, w_floor: float = W_FLOOR, scale_range=SCALE_RANGE, refine_points: int = REFINE_POINTS,
            refine_iterations: int = REFINE_ITERATIONS, confirm_violations: bool = True,
            objective_gradient: Callable | None = None, search_nodes: int = SEARCH_NODES,
            refine_nodes: int = REFINE_NODES) -> FalsifierResult:
    """Search for violations of the flow condition ⟨∇V, ∇R⟩ ≥ 0 and, when ``eta`` is given, of the
    one-step condition V(θ − η∇R) − V(θ) ≤ 0 (module docstring: search, refine, shrink, confirm).

    ``candidate``: a built-in name ("V_w", "V_max", "V_bar", "U"), "R", a ``FamilyMember``, a
    ``UserCandidate`` or an ``ObjectivePlus`` (R + c·V).

    ``budget``: hypothesis examples. The default ``DEFAULT_BUDGET`` = 1500 keeps one candidate
    (flow condition) at 10–35 s on one core (measured, benchmarks/bench_falsifier.py), under the
    60 s of issue 12 with room for a busy machine. The cost is also capped in quadrature nodes
    (deterministic, unlike wall time): the search evaluates no example after ``search_nodes``
    (default ``SEARCH_NODES``) nodes, and the refinement of each condition (at most ``refine_points``
    × ``refine_iterations`` batches) stops after ``refine_nodes`` (default ``REFINE_NODES``).
    ``eta`` adds the one-step condition (about twice the time).

    ``objective_gradient``: replaces ∇R in the search (``(means (B,K,d), weights (B,K)) -> (R, R_err,
    ∇R, ∇R_err[, nodes])``), for negative controls: the confirmation always uses the true R.

    Deterministic in ``seed``, bit for bit, in any process (module docstring).
    """
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings, target
    from hypothesis import seed as hseed

    _check_falsify_arguments(budget, eta, K_range, d_range, search_nodes, refine_nodes, w_floor, scale_range)
    cand = _Candidate(candidate)
    cand.monitor(K_range[0], d_range[0])  # a bad candidate fails here, with its own message
    evaluator = _Evaluator(cand, None if eta is None else float(eta), objective_gradient or reverse_gradient)
    conditions = (FLOW,) if eta is None else (FLOW, ONE_STEP)
    seen = {c: [] for c in conditions}  # (margin, order, Configuration)

    strategy = configurations(tuple(K_range), tuple(d_range), w_floor, tuple(scale_range))
    run_settings = settings(parent=settings.get_profile("default"), max_examples=int(budget), database=None,
                            deadline=None, derandomize=False, phases=(Phase.generate, Phase.target),
                            suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet, print_blob=False)

    @run_settings
    @hseed(seed)
    @given(cfg=strategy)
    def probe(cfg):
        if evaluator.nodes > search_nodes:
            return
        ev = evaluator([cfg])[0]
        for cond in conditions:
            m = float(ev[_margin_key(cond)][0])
            if math.isfinite(m):
                seen[cond].append((m, len(seen[cond]), cfg))
                # one target per size: hypothesis then improves the best example of every (K, d)
                target(-m, label=f"{cond} K={cfg.K} d={cfg.d}")

    with _no_local_constants():
        probe()

    findings = {cond: _finding(cand, evaluator, cond, seen[cond], eta, refine_points, refine_iterations, scale_range,
                               refine_nodes, w_floor, confirm_violations) if seen[cond] else None
                for cond in conditions}
    return FalsifierResult(cand.name, findings[FLOW], findings.get(ONE_STEP), None if eta is None else float(eta),
                           int(budget), int(seed), evaluator.count, evaluator.samples())


# --- the family scan ------------------------------------------------------------------------------

#: α on [0, 1] in steps of 0.1 (issue 12: "α on a grid in [0, 1]"); α = 0 is U, α = 1 is V_w.
ALPHA_GRID = tuple(round(0.1 * k, 1) for k in range(11))


@dataclass(frozen=True)
class FamilyScan:
    """``falsify`` for each member of a one-parameter family (default V_α = Σ w_i^α ||μ_i − μ*||²)."""

    family: str
    parameters: tuple
    results: tuple

    def rows(self) -> list[dict]:
        """Per parameter: the worst normalised flow derivative (after refinement), its margin, the
        point, the confirmation status and the shrunk point."""
        out = []
        for a, r in zip(self.parameters, self.results):
            f = r.flow
            out.append({"parameter": a, "worst": f.worst_evaluation.normalised, "margin": f.worst_evaluation.margin,
                        "w_min": min(f.worst.weights), "point": str(f.worst), "status": f.status,
                        "shrunk": str(f.shrunk) if f.violated else None,
                        "confirmed_point": str(f.confirmed_point) if f.confirmed_point else None})
        return out

    @property
    def without_violation(self) -> tuple:
        """Parameters where no float violation (margin < 0) was found at all."""
        return tuple(a for a, r in zip(self.parameters, self.results) if not r.violated)

    @property
    def refuted(self) -> tuple:
        """Parameters with a confirmed (40 digits) or certified violation."""
        return tuple(a for a, r in zip(self.parameters, self.results) if r.refuted)

    def envelope(self, i: int, bins: int = 12, min_points: int = 3):
        """Lower envelope of the normalised flow derivative c against the smallest weight for
        parameter i: (bin centres, min c per bin) over log-spaced bins of w_min (bins with fewer
        than ``min_points`` points dropped)."""
        s = self.results[i].samples
        w, c = s[:, 0], s[:, 1]
        keep = np.isfinite(c)
        w, c = w[keep], c[keep]
        edges = np.geomspace(w.min(), w.max() * (1 + 1e-12), bins + 1)
        which = np.clip(np.searchsorted(edges, w, side="right") - 1, 0, bins - 1)
        centres, lows = [], []
        for b in range(bins):
            sel = which == b
            if np.count_nonzero(sel) >= min_points:
                centres.append(math.sqrt(edges[b] * edges[b + 1]))
                lows.append(float(np.min(c[sel])))
        return np.array(centres), np.array(lows)

    def table(self) -> str:
        lines = [f"{'α':>5} {'worst c':>11} {'margin':>10} {'w_min':>8}  status / point"]
        for row in self.rows():
            lines.append(f"{row['parameter']:>5g} {row['worst']:>11.4g} {row['margin']:>10.3g} {row['w_min']:>8.3g}  "
                         f"{row['status']}: {row['confirmed_point'] or row['point']}")
        return "\n".join(lines)

    def plot(self, path, floor_sweep: dict | None = None) -> dict:
        """PNG: worst normalised derivative against α, and its lower envelope against the smallest
        weight (one line per α, over every point evaluated). The targeted search drives the smallest
        weight to the floor, so above the floor the envelope comes from untargeted points;
        ``floor_sweep`` ({label: (floors, worst c)}, from separate runs with w_floor = each floor)
        adds the targeted worst against the floor. Returns the data drawn."""
        from rfisher.figures import draw_family_scan

        rows = self.rows()
        envelopes = {}
        for i, p in enumerate(self.parameters):
            x, y = self.envelope(i)
            envelopes[f"{p:g}"] = (x.tolist(), y.tolist())
        return draw_family_scan(path, [r["parameter"] for r in rows], [r["worst"] for r in rows],
                                [r["status"] in (CONFIRMED, CERTIFIED) for r in rows], envelopes, floor_sweep,
                                xlabel=f"{self.family} parameter α")


def family_scan(parameters=ALPHA_GRID, budget: int = DEFAULT_BUDGET, *, family: str = "V_alpha", figure=None,
                progress=None, **falsify_kwargs) -> FamilyScan:
    """``falsify(FamilyMember(family, p), budget, **falsify_kwargs)`` for each parameter p (same seed
    for every p). ``figure``: a path for ``FamilyScan.plot``. ``progress(p, result)`` after each."""
    results = []
    for p in parameters:
        r = falsify(lyapunov.FamilyMember(family, float(p)), budget, **falsify_kwargs)
        results.append(r)
        if progress is not None:
            progress(p, r)
    scan = FamilyScan(family, tuple(float(p) for p in parameters), tuple(results))
    if figure is not None:
        scan.plot(figure)
    return scan
