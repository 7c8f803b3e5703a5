"""The per-basin candidate V_basin(θ) = Σ_i ||μ_i − ν_{j(i)}||² for a mixture teacher (docs/theory.md,
"Lyapunov candidates", "Per-basin candidate (mixture teacher)"), j(i) the teacher component nearest
to μ_i at the start, fixed along the run. The formulas (value, gradient 2(μ_i − ν_{j(i)}), exact
one-step change) are in derivations/basin.py, lambdified here.

Two tests:

* ``trajectory_check``: reverse GD on R along C3 setups (``rfisher.setups``: "random" teacher layout
  with minimum separation Δ, initializations drawn from p, uniform student weights, η = 0.3, as
  ``rfisher.mixture_teacher.c3_experiment``), every step: the exact change ΔV_basin(θ, ĝ, η) of the step
  taken against its slack (``rfisher.lyapunov.change_slack``: ĝ known within the quadrature's entrywise
  error, the iterate rounded). A step increases V when ΔV > slack. Also the flow derivative
  ⟨∇V, ĝ⟩ at each iterate against its slack ||∇V||·||err|| + (Kd + 16)ε Σ|∂V||ĝ| (as the falsifier).
* ``search``: random and targeted search of the normalised flow derivative
  c = ⟨∇V, ∇R⟩/(||∇V|| ||∇R||) in the separation regime: teacher means with minimum separation Δ,
  every student mean within ``basin_fraction``·Δ/2 of its assigned teacher mean (so j(i) is its nearest),
  then a compass refinement of the worst points inside the regime; ``confirm`` recomputes ⟨∇V, ∇R⟩ at
  40 digits (``rfisher.reference``, d ≤ 2).

(The falsifier, rfisher/falsifier.py, searches a single-Gaussian teacher N(0, I) only; hence this search.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from rfisher import lyapunov, setups
from rfisher.quadrature import integrate

EPS = float(np.finfo(float).eps)
NAME = "V_basin"
#: Smallest distance to the assigned teacher mean drawn by the log-uniform search, per unit of Δ/2.
RADIUS_FLOOR = 1e-6


def assigned_means(means, teacher_means) -> np.ndarray:
    """t_i = ν_{j(i)}, j(i) the teacher component nearest to μ_i: (..., K, d)."""
    from rfisher.mixture_teacher import nearest

    nu = np.asarray(teacher_means, dtype=float)
    return nu[nearest(np.asarray(means, dtype=float), nu)]


@cache
def monitor(K: int, d: int) -> lyapunov.Monitor:
    """V_basin as a ``rfisher.lyapunov.Monitor`` whose ``target`` argument is the assigned teacher means
    t (B, K, d) (instead of one μ*); weights are not used."""
    import sympy as sp

    from derivations import basin as D

    f = D.forms(K, d)
    ms = f["symbols"]
    mu = [c for row in ms.mu for c in row]
    t = [c for row in ms.nu for c in row]
    g = [c for row in ms.g for c in row]
    f_v = sp.lambdify([*mu, *t], f["value"], modules="numpy")
    f_g = sp.lambdify([*mu, *t], f["gradient"], modules="numpy")
    f_d = sp.lambdify([*mu, *t, *g, ms.eta], f["change"], modules="numpy")

    def flat(a):
        a = np.asarray(a, dtype=float)
        return [a[..., i, k] for i in range(K) for k in range(d)]

    def shape(means, target, *more):
        return np.broadcast_shapes(np.shape(means)[:-2], np.shape(target)[:-2], *more)

    def value(means, weights, target):
        return np.broadcast_to(np.asarray(f_v(*flat(means), *flat(target)), dtype=float), shape(means, target)).copy()

    def gradient(means, weights, target):
        s = shape(means, target)
        parts = [np.broadcast_to(np.asarray(c, dtype=float), s) for c in f_g(*flat(means), *flat(target))]
        return np.stack(parts, axis=-1).reshape(*s, K, d)

    def delta(means, weights, target, grad, eta):
        s = shape(means, target, np.shape(grad)[:-2], np.shape(eta))
        return np.broadcast_to(np.asarray(f_d(*flat(means), *flat(target), *flat(grad), np.asarray(eta, dtype=float)),
                                          dtype=float), s).copy()

    return lyapunov.Monitor(NAME, value, delta, gradient)


def objective_gradient(means, weights, teacher, rtol, atol=0.0):
    """(∇R (B, K, d), its entrywise error bound) for a mixture teacher: ``rfisher.quadrature.integrate`` at
    rtol·scale + atol (the one place both tests get ∇R from)."""
    B, K, d = np.shape(means)
    res = integrate("reverse", means, weights, teacher.means, teacher.weights, rtol=rtol, atol=atol)
    return res.value[:, 1:].reshape(B, K, d), res.error[:, 1:].reshape(B, K, d)


def flow_numbers(K, d, means, assigned, g, err):
    """(D = ⟨∇V, ĝ⟩, its slack, c = D/(||∇V|| ||ĝ||)) per row of a batch."""
    mon = monitor(K, d)
    gv = mon.gradient(means, None, assigned).reshape(len(means), -1)
    gf, ef = g.reshape(len(means), -1), err.reshape(len(means), -1)
    D = np.sum(gv * gf, axis=1)
    nv, ng = np.linalg.norm(gv, axis=1), np.linalg.norm(gf, axis=1)
    slack = nv * np.linalg.norm(ef, axis=1) + (K * d + 16) * EPS * np.sum(np.abs(gv) * np.abs(gf), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(nv * ng > 0, D / (nv * ng), np.nan)
    return D, slack, c


# --- along C3 trajectories -----------------------------------------------------------------------


@dataclass
class BasinRuns:
    """Per run (n,): steps with ΔV > slack, the first such step (−1: none), the largest ΔV/slack ratio
    among increases (0: none), steps with ⟨∇V, ĝ⟩ + slack < 0, and C3 success (every component within
    eps of its assigned teacher mean at the end)."""

    J: int
    K: int
    d: int
    separation: float
    n: int
    steps: int
    increases: np.ndarray
    first_increase: np.ndarray
    flow_violations: np.ndarray
    success: np.ndarray
    final_V: np.ndarray
    largest_increase: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def never_increases(self) -> float:
        """Fraction of runs along which V_basin never increased beyond the slack."""
        return float(np.mean(self.increases == 0))


def trajectory_check(J: int, K: int, d: int, separation: float, *, n: int = 16, steps: int = 300, seed: int = 0,
                     step_size: float = 0.3, rtol: float = 1e-6, atol: float = 1e-10, eps: float = 0.3,
                     layout: str = "random") -> BasinRuns:
    """Reverse GD θ ← θ − ηĝ (ĝ from ``rfisher.quadrature.integrate`` at rtol·scale + atol, as C3) on n
    C3 initializations, checking V_basin at every step (module docstring)."""
    teacher = setups.make_teacher(layout, J, d, separation, seed=seed)
    means = setups.initializations("teacher", teacher, K, n, seed=seed + 1)
    w = np.full((n, K), 1.0 / K)
    t = assigned_means(means, teacher.means)
    mon = monitor(K, d)
    inc = np.zeros(n, dtype=np.int64)
    first = np.full(n, -1, dtype=np.int64)
    flow_bad = np.zeros(n, dtype=np.int64)
    largest = np.zeros(n)
    for step in range(steps):
        g, err = objective_gradient(means, w, teacher, rtol, atol)
        dv = mon.delta(means, w, t, g, step_size)
        slack = lyapunov.change_slack(mon, means, w, t, g, err, step_size, dv)
        up = dv > slack
        inc += up
        first[up & (first < 0)] = step
        with np.errstate(divide="ignore", invalid="ignore"):
            largest = np.where(up, np.maximum(largest, dv / np.where(slack > 0, slack, EPS)), largest)
        D, s, _ = flow_numbers(K, d, means, t, g, err)
        flow_bad += (D + s < 0)
        means = means - step_size * g
    ok = np.all(np.linalg.norm(means - t, axis=-1) <= eps, axis=1)
    return BasinRuns(J, K, d, float(separation), n, steps, inc, first, flow_bad, ok, mon.value(means, w, t), largest)


# --- search in the separation regime --------------------------------------------------------------


@dataclass
class SearchResult:
    J: int
    K: int
    d: int
    separation: float
    evaluated: int
    worst_c: float
    worst_margin: float
    means: np.ndarray
    weights: np.ndarray
    teacher_means: np.ndarray
    teacher_weights: np.ndarray
    D: float
    slack: float

    @property
    def violated(self) -> bool:
        return self.worst_margin < 0


def _draw(rng, n, J, K, d, separation, basin_fraction, seed, min_fraction, matched, radial):
    teacher = setups.make_teacher("random", J, d, separation, seed=seed)
    if matched:  # one student per teacher component, w = π: the teacher itself is a stationary point
        comp = np.array([rng.permutation(J) for _ in range(n)])
        w = np.broadcast_to(teacher.weights, (n, K)).copy()
    else:
        comp = rng.integers(0, J, size=(n, K))
        w = rng.dirichlet(np.ones(K), size=n) * (1 - K * 0.05) + 0.05
    u = rng.standard_normal((n, K, d))
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    lo, hi = min_fraction * separation / 2, basin_fraction * separation / 2
    if radial == "log":  # log-uniform distances: resolves the neighbourhood of the teacher means
        radius = np.exp(np.log(max(lo, RADIUS_FLOOR * separation / 2)) + np.log(hi / max(lo, RADIUS_FLOOR * separation / 2))
                        * rng.random((n, K, 1)))
    else:  # uniform in volume
        radius = (lo**d + (hi**d - lo**d) * rng.random((n, K, 1))) ** (1.0 / d)
    return teacher, teacher.means[comp] + radius * u, w


def _evaluate(means, w, teacher, rtol):
    B, K, d = means.shape
    g, err = objective_gradient(means, w, teacher, rtol)
    t = assigned_means(means, teacher.means)
    D, slack, c = flow_numbers(K, d, means, t, g, err)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.linalg.norm(2 * (means - t).reshape(B, -1), axis=1) * np.linalg.norm(g.reshape(B, -1), axis=1)
        margin = np.where(norm > 0, (D + slack) / norm, np.inf)
    return c, margin, D, slack


def search(J: int, K: int, d: int, separation: float, *, n_random: int = 400, refine_points: int = 4,
           refine_iterations: int = 30, basin_fraction: float = 0.9, min_fraction: float = 0.0, seed: int = 0,
           rtol: float = 1e-9, matched: bool = False, radial: str = "log") -> SearchResult:
    """Random points of the separation regime (module docstring; every ||μ_i − ν_{j(i)}|| in
    [min_fraction, basin_fraction]·Δ/2), then a compass search on the margin from the ``refine_points``
    worst (steps ± h·Δ/2 per coordinate, h from 0.25 halving on failure; polls that leave the regime are
    not taken). ``radial``: "log" (distances log-uniform from max(min_fraction, RADIUS_FLOOR)·Δ/2) or
    "volume" (uniform in the annulus). ``matched``: K = J, one student per teacher component and w = π
    (as in C3 with uniform weights); otherwise components and weights (≥ 0.05) at random."""
    if radial not in ("log", "volume"):
        raise ValueError(f"radial must be 'log' or 'volume', got {radial!r}")
    if matched and K != J:
        raise ValueError(f"matched needs K = J, got K = {K}, J = {J}")
    rng = np.random.default_rng(seed)
    teacher, means, w = _draw(rng, n_random, J, K, d, separation, basin_fraction, seed, min_fraction, matched, radial)
    c, m, D, s = _evaluate(means, w, teacher, rtol)
    order = np.argsort(np.where(np.isfinite(m), m, np.inf), kind="stable")[:refine_points]
    best = [(float(m[i]), means[i].copy(), w[i].copy()) for i in order]
    evaluated = n_random
    limit = basin_fraction * separation / 2

    def inside(x):
        t = assigned_means(x, teacher.means)
        r = np.linalg.norm(x - t, axis=-1)
        return bool(np.all(r <= limit) and np.all(r >= min_fraction * separation / 2))

    for k, (f0, x0, w0) in enumerate(best):
        x, f, h = x0, f0, 0.25
        for _ in range(refine_iterations):
            polls = []
            # steps relative to the largest distance to the assigned means (so tiny neighbourhoods are resolved)
            size = float(np.max(np.linalg.norm(x - assigned_means(x, teacher.means), axis=-1)))
            for p in range(K * d):
                for sgn in (1.0, -1.0):
                    y = x.copy().reshape(-1)
                    y[p] += sgn * h * size
                    y = y.reshape(K, d)
                    if inside(y):
                        polls.append(y)
            if not polls:
                h *= 0.5
                continue
            P = np.array(polls)
            _, mp, _, _ = _evaluate(P, np.broadcast_to(w0, (len(P), K)).copy(), teacher, rtol)
            evaluated += len(P)
            j = int(np.argmin(mp))
            if mp[j] < f:
                x, f = P[j], float(mp[j])
            else:
                h *= 0.5
            if h < 2.0**-12:
                break
        best[k] = (f, x, w0)
    f, x, w0 = min(best, key=lambda b: b[0])
    c1, m1, D1, s1 = _evaluate(x[None], w0[None], teacher, rtol)
    return SearchResult(J, K, d, float(separation), evaluated, float(c1[0]), float(m1[0]), x, w0, teacher.means,
                        teacher.weights, float(D1[0]), float(s1[0]))


def confirm(result: SearchResult, dps: int = 40):
    """⟨∇V_basin, ∇R⟩ at the point with the 40-digit reference (d ≤ 2): (D, error bound) as mpmath numbers;
    ∇V_basin = 2(μ_i − ν_{j(i)}) is exact in the doubles given."""
    import mpmath

    from rfisher import GaussianMixture, reference

    K, d = result.means.shape
    t = assigned_means(result.means, result.teacher_means)
    with mpmath.workdps(dps):
        ref = reference.reverse_fisher(GaussianMixture(result.means, result.weights),
                                       GaussianMixture(result.teacher_means, result.teacher_weights), dps=dps)
        gv = [2 * (mpmath.mpf(float(result.means[i, a])) - mpmath.mpf(float(t[i, a]))) for i in range(K) for a in range(d)]
        g = [ref.gradient[i][a] for i in range(K) for a in range(d)]
        D = mpmath.fsum(a * b for a, b in zip(gv, g))
        bound = ref.error * mpmath.fsum(abs(a) for a in gv) + mpmath.mpf(10) ** (5 - dps) * mpmath.fsum(
            abs(a * b) for a, b in zip(gv, g))
    return D, bound


