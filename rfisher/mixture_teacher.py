"""A mixture teacher: nearest-component convergence (claim C3) and convergence in TV (claim C4).

C3 (docs/theory.md, C3): with a separation Δ = min_{j≠k} ||ν_j − ν_k|| ≥ Ω̃(1) and a random initialization,
with high probability every student component converges near the teacher mean closest to where
it started. ``c3_experiment`` runs reverse (and forward) GD from ``n`` seeded initializations and
reports the fraction of runs in which every component ends within ε of that teacher mean, with a
95% Wilson interval, and the final R and TV (with their errors). ``separation_sweep`` locates the
transition: the smallest Δ at which the interval's lower end exceeds 0.9.

C4 made explicit. Reverse Fisher is mode-seeking and nearly blind to the mixing weights of
well-separated modes: at a stationary point where each student sits on a teacher mode, ∇log q ≈
∇log p wherever q has mass, whatever the weights. So TV → 0 needs a condition on the start:

    ``tv_condition``: assign each student component to the teacher mean nearest its start; the
    condition holds when, for every teacher component j, the student weights assigned to j sum
    to π_j (within ``tol``) — in particular every mode gets a student.

When it fails, the end state has TV ≈ ½ Σ_j |M_j − π_j| (M_j the student mass at mode j): a missed
mode costs π_j, a weight mismatch costs the mismatch, while R ends near 0 in both cases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rfisher import setups
from rfisher.descent import gradient_descent
from rfisher.mixture import GaussianMixture
from rfisher.statistics import sqrt_log_fit, wilson_interval  # noqa: F401 (sqrt_log_fit re-exported)
from rfisher.tv import total_variation, tv_any


def nearest(means: np.ndarray, teacher_means: np.ndarray) -> np.ndarray:
    """Index of the teacher mean nearest to each student mean, (..., K)."""
    dist = np.sum((means[..., :, None, :] - teacher_means) ** 2, axis=-1)
    return np.argmin(dist, axis=-1)


@dataclass
class C3Result:
    J: int
    K: int
    d: int
    separation: float
    scheme: str
    layout: str
    n: int
    eps: float
    steps: int
    successes: int
    interval: tuple
    final_R: np.ndarray
    final_tv: np.ndarray
    final_tv_error: np.ndarray
    forward_successes: int | None = None
    forward_interval: tuple | None = None
    forward_final_tv: np.ndarray | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return self.successes / self.n


def _tvs(final_means, weights, teacher, with_tv):
    if not with_tv:
        return np.full(len(final_means), np.nan), np.full(len(final_means), np.nan)
    # a coarser line grid than the default: C3 needs TV to ~1e−3, and the estimate says what it got
    out = [total_variation(GaussianMixture(m, weights), teacher, spacing=0.02, outer_step=0.1) if teacher.d <= 2
           else tv_any(GaussianMixture(m, weights), teacher, seed=b) for b, m in enumerate(final_means)]
    return np.array([r.value for r in out]), np.array([r.error for r in out])


def c3_experiment(J: int, K: int, d: int, separation: float, *, scheme: str = "teacher", layout: str = "random",
                  n: int = 100, seed: int = 0, steps: int = 800, step_size: float = 0.3, eps: float = 0.3,
                  forward: bool = True, with_tv: bool = True, rtol: float = 1e-6, atol: float = 1e-10) -> C3Result:
    """Reverse (and forward) GD from ``n`` initializations by ``scheme``; success = every student
    component ends within ``eps`` of the teacher mean nearest its start. Student weights uniform.
    Gradients to rtol·scale + atol: an absolute floor, since R → 0 and only the path matters here."""
    t0 = time.perf_counter()
    teacher = setups.make_teacher(layout, J, d, separation, seed=seed)
    init = setups.initializations(scheme, teacher, K, n, seed=seed + 1)
    w = np.full(K, 1.0 / K)
    start = nearest(init, teacher.means)  # (n, K)

    def successes(tr):
        target = teacher.means[start]  # (n, K, d)
        dist = np.linalg.norm(tr.final_means - target, axis=-1)
        return np.all(dist <= eps, axis=1) & ~tr.diverged

    rev = gradient_descent(init, w, teacher, step_size=step_size, max_steps=steps, record_every=steps,
                           record_means=False, rtol=rtol, atol=atol)
    ok = successes(rev)
    tv, tv_err = _tvs(rev.final_means, w, teacher, with_tv)
    res = C3Result(J, K, d, float(separation), scheme, layout, n, eps, steps, int(ok.sum()), wilson_interval(int(ok.sum()), n),
                   rev.values[-1], tv, tv_err)
    if forward:
        fwd = gradient_descent(init, w, teacher, objective="forward", step_size=step_size, max_steps=steps,
                               record_every=steps, record_means=False, rtol=rtol, atol=atol)
        fok = successes(fwd)
        res.forward_successes = int(fok.sum())
        res.forward_interval = wilson_interval(int(fok.sum()), n)
        res.forward_final_tv = _tvs(fwd.final_means, w, teacher, with_tv)[0]
    res.seconds = time.perf_counter() - t0
    return res


def separation_sweep(J, K, d, separations, *, level: float = 0.9, **kwargs):
    """C3 at each Δ; returns (results, Δ*) with Δ* the smallest Δ whose Wilson lower bound > level
    (None if none does)."""
    results = [c3_experiment(J, K, d, s, forward=False, with_tv=False, **kwargs) for s in separations]
    above = [r.separation for r in results if r.interval[0] > level]
    return results, (min(above) if above else None)


# --- C4 ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionReport:
    holds: bool
    assignment: np.ndarray  # (K,) nearest teacher component of each student start
    mass: np.ndarray  # (J,) student weight assigned to each teacher component
    predicted_tv: float  # ½ Σ_j |M_j − π_j|


def tv_condition(init_means, student_weights, teacher: GaussianMixture, tol: float = 1e-6) -> ConditionReport:
    """The checkable C4 condition on an initialization (see the module docstring)."""
    init = np.asarray(init_means, dtype=float)
    assign = nearest(init, teacher.means)
    mass = np.bincount(assign, weights=np.asarray(student_weights, dtype=float), minlength=teacher.K)
    gap = np.abs(mass - teacher.weights)
    return ConditionReport(bool(np.all(gap <= tol)), assign, mass, float(0.5 * gap.sum()))


@dataclass
class C4Case:
    name: str
    condition: ConditionReport
    final_R: float
    final_R_error: float
    tv: float
    tv_error: float
    bound: str
    ok: bool


def c4_cases(d: int = 1, separation: float = 10.0, steps: int = 1500, step_size: float = 0.3, seed: int = 0,
             tv_tol: float = 1e-4, r_tol: float = 1e-4) -> list[C4Case]:
    """Three starts on a well-separated teacher: the condition holds; a mode is missed; the per-mode
    weights do not match. Checks (docs/theory.md, C4): holds -> TV_end ≤ tv_tol; otherwise R_end ≤ r_tol
    while |TV_end − ½Σ|M_j − π_j|| ≤ tv_tol (the cross-mode overlaps at Δ = 10 are ~Φ(−5) ≈ 3e−7); the
    TV's own error bound is added to each tolerance."""
    rng = np.random.default_rng(seed)
    cases = []
    specs = [
        ("condition holds", setups.make_teacher("line", 3, d, separation, [0.2, 0.3, 0.5]), [0, 1, 2], [0.2, 0.3, 0.5]),
        ("a mode is missed", setups.make_teacher("line", 3, d, separation), [0, 1], [0.5, 0.5]),
        ("weights do not match", setups.make_teacher("line", 2, d, separation), [0, 1], [0.7, 0.3]),
    ]
    for name, teacher, modes, w in specs:
        init = teacher.means[modes] + rng.uniform(-1.5, 1.5, size=(len(modes), d))
        cond = tv_condition(init, w, teacher)
        tr = gradient_descent(init, w, teacher, step_size=step_size, max_steps=steps, record_every=steps, record_means=False)
        tv = tv_any(GaussianMixture(tr.final_means[0], w), teacher)
        R, Rerr = float(tr.values[-1, 0]), float(tr.value_errors[-1, 0])
        if cond.holds:
            ok = tv.value <= tv_tol + tv.error
            bound = f"TV_end ≤ {tv_tol:g}"
        else:
            ok = (R <= r_tol + Rerr) and abs(tv.value - cond.predicted_tv) <= tv_tol + tv.error
            bound = f"R_end ≤ {r_tol:g} and |TV_end − {cond.predicted_tv:.3f}| ≤ {tv_tol:g}"
        cases.append(C4Case(name, cond, R, Rerr, tv.value, tv.error, bound, bool(ok)))
    return cases
