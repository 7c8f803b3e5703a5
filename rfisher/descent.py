"""Batched gradient descent on R or F: θ ← θ − η ∇θ, all student means at once, fixed weights.

``gradient_descent`` advances a whole batch of initializations (means (B, K, d)). The steps run in
one compiled function, ``descend`` (evaluate with the error-controlled quadrature, check, update,
for every running trajectory), whole stretches between records at a time; with Lyapunov monitors
it returns to Python after every step to evaluate their exact one-step changes with numpy on the
whole batch. No Python loop runs over trajectories or nodes.

Per trajectory it stops on a step budget, a gradient-norm tolerance, or a parameter tolerance
(largest move of a mean in one step), and it stops and flags a trajectory that diverges: a
non-finite objective or gradient, the objective growing past ``divergence_factor`` times its
first value, or a mean leaving the ball of radius ``escape_radius``. The others go on.

Recorded every ``record_every`` steps (and at the end): the objective, the gradient norm, every
monitored Lyapunov candidate and (optionally) the means. Streamed at every step, whatever the
stride: the largest one-step change of each candidate and how many steps increased it by more
than the accuracy slack (``rfisher.lyapunov.change_slack``), so that long runs stay bounded in
memory. Deterministic: the same inputs give bit-identical trajectories, whatever the batch.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from rfisher import compiled, lyapunov, montecarlo, validation
from rfisher.compiled import hold, njit, unowned
from rfisher.descent_state import STATUS_NAMES, Divergence, Settings, Status, new_state
from rfisher.lines import line_work
from rfisher.lyapunov import OBJECTIVE
from rfisher.mixture import GaussianMixture, as_batch
from rfisher.montecarlo import mc_one, mc_work
from rfisher.quadrature import MAX_NODES, OBJECTIVES, centered, integrate_one, plan_work, teacher_shift

MAX_STEPS, GRAD_TOL, PARAM_TOL, DIVERGED = (STATUS_NAMES[s] for s in (Status.MAX_STEPS, Status.GRAD_TOL,
                                                                       Status.PARAM_TOL, Status.DIVERGED))
DIVERGENCE_REASONS = {Divergence.NONE: "", Divergence.NON_FINITE: "non-finite objective or gradient",
                      Divergence.GREW: "objective grew past {factor:g}× its first value",
                      Divergence.ESCAPED: "a mean left the ball of radius {radius:g}"}


# --- the compiled loop (templates specialised per size and objective by rfisher.compiled) -----------


# The helpers take the State's arrays one by one: a compiled call increfs and decrefs every array of a
# tuple argument (atomic operations), and they run at every step.


@njit
def record_evaluation(b, ok, value, error, scale, current, grad, grad_error, quadrature_failures, worst):
    """Keep an evaluation in the state's arrays: current (value, error, gradient norm), grad, grad_error,
    the quadrature's failures and worst relative error."""
    K, D = grad.shape[1:]
    P = value.shape[0]
    if not ok:
        quadrature_failures[b] += 1
    big = 1e-300
    for p in range(P):
        big = max(big, abs(scale[p]))
    gnorm = 0.0
    for p in range(P):
        worst[b] = max(worst[b], error[p] / big)
        if p > 0:
            gnorm += value[p] * value[p]
    current[b, 0] = value[0]
    current[b, 1] = error[0]
    current[b, 2] = math.sqrt(gnorm)
    for i in range(K):
        for a in range(D):
            grad[b, i, a] = value[1 + i * D + a]
            grad_error[b, i, a] = error[1 + i * D + a]


@njit
def divergence_of(b, first_value, means, settings, value):
    """The Divergence code of trajectory b after an evaluation (first_value: the state's, set here at the
    first evaluation)."""
    finite = True
    for p in range(value.shape[0]):
        finite = finite and math.isfinite(value[p])
    if not finite:
        return Divergence.NON_FINITE
    if math.isnan(first_value[b]):
        first_value[b] = value[0]
    if value[0] > settings.divergence_factor * max(first_value[b], 1e-300):
        return Divergence.GREW
    K, D = means.shape[1:]
    for i in range(K):
        for a in range(D):
            if abs(means[b, i, a]) > settings.escape_radius:
                return Divergence.ESCAPED
    return Divergence.NONE


@njit
def step(b, means, grad, steps, settings):
    """θ ← θ − η∇ for trajectory b; returns the largest move of a coordinate."""
    K, D = means.shape[1:]
    moved = 0.0
    for i in range(K):
        for a in range(D):
            delta = settings.step_size * grad[b, i, a]
            means[b, i, a] -= delta
            moved = max(moved, abs(delta))
    steps[b] += 1
    return moved


@njit
def descend(state, settings, n_steps, t0, z, start, fns):
    """Up to n_steps GD steps for every running trajectory, in place; n_steps = 0 only evaluates.
    start (B, 3) gets the evaluation (value, error, gradient norm) at the first of these steps."""
    B, K, D = state.means.shape
    J = state.teacher_means.shape[1]
    P = 1 + K * D
    plan_owners, pw = plan_work(K, J, D)
    line_owners, work = line_work(K, J, D, P)
    mc_scratch = mc_work(K, J, D, P)
    evaluation = np.empty((3, P))
    value, error, scale = unowned(evaluation[0]), unowned(evaluation[1]), unowned(evaluation[2])
    means, grad, current, status = state.means, state.grad, state.current, state.status
    for b in range(B):
        if status[b] != Status.RUNNING:
            continue
        # unowned views (rfisher.compiled.unowned): the state's arrays outlive the loop
        mu, w = unowned(means[b]), unowned(state.weights[b])
        nu, pi = unowned(state.teacher_means[b]), unowned(state.teacher_weights[b])
        for s in range(max(n_steps, 1)):
            # the objective and its gradient at the means into value, error, scale (P,): by the quadrature, or
            # by Monte Carlo with the common samples z when there are any (error: three standard errors)
            if z.shape[0] > 0:
                mc_one(mu, w, nu, pi, settings.reverse, z, value, error, scale, mc_scratch, fns)
                for p in range(P):
                    error[p] *= 3.0
                ok = True
            else:
                _, ok = integrate_one(mu, w, nu, pi, settings.reverse, settings.rtol, settings.atol, settings.max_refine,
                                      MAX_NODES, settings.depth, value, error, scale, unowned(state.plan[b]), pw, work,
                                      fns)
            record_evaluation(b, ok, value, error, scale, current, grad, state.grad_error, state.quadrature_failures,
                              state.worst_relative_error)
            if s == 0:  # also when this evaluation flags divergence: a finite value is still the value there
                for q in range(3):
                    start[b, q] = current[b, q]
            code = divergence_of(b, state.first_value, means, settings, value)
            if code != Divergence.NONE:
                status[b] = Status.DIVERGED
                state.diverged_at[b] = t0 + s
                state.divergence[b] = code
                break
            if n_steps == 0:
                break
            if settings.grad_tol > 0.0 and current[b, 2] <= settings.grad_tol:
                status[b] = Status.GRAD_TOL
                break
            moved = step(b, means, grad, state.steps, settings)
            if settings.param_tol > 0.0 and moved <= settings.param_tol:
                status[b] = Status.PARAM_TOL
                break
    hold(plan_owners)
    hold(line_owners)
    hold(evaluation)


# --- Python: validate, step, monitor, record, finish ---------------------------------------------------


@dataclass
class Trajectories:
    """The result of ``gradient_descent`` (B trajectories, T recorded times)."""

    objective: str
    rule: str
    step_size: float
    weights: np.ndarray  # (B, K)
    teacher: GaussianMixture
    initial_means: np.ndarray  # (B, K, d)
    final_means: np.ndarray  # (B, K, d)
    steps: np.ndarray  # (B,) GD steps taken
    status: np.ndarray  # (B,) one of max_steps, grad_tol, param_tol, diverged
    diverged_at: np.ndarray  # (B,) step at which divergence was detected, −1 if none
    divergence_reason: np.ndarray  # (B,) text, "" if none
    record_steps: np.ndarray  # (T,)
    values: np.ndarray  # (T, B) objective (frozen after a trajectory stops)
    value_errors: np.ndarray  # (T, B)
    grad_norms: np.ndarray  # (T, B)
    monitors: dict = field(default_factory=dict)  # name -> (T, B)
    means: np.ndarray | None = None  # (T, B, K, d) if recorded
    max_increase: dict = field(default_factory=dict)  # name -> (B,) max one-step change of V
    increase_slack: dict = field(default_factory=dict)  # name -> (B,) accuracy slack at that step
    n_increases: dict = field(default_factory=dict)  # name -> (B,) steps with ΔV > slack
    first_increase: dict = field(default_factory=dict)  # name -> (B,) first such step, −1 if none
    max_quadrature_error: np.ndarray | None = None  # (B,) largest relative error estimate used
    quadrature_failures: np.ndarray | None = None  # (B,) evaluations whose tolerance was not met
    seconds: float = 0.0

    @property
    def target(self) -> np.ndarray:
        """μ* for a single-Gaussian teacher (the teacher's mean otherwise)."""
        return self.teacher.mean

    @property
    def final_max_distance(self) -> np.ndarray:
        """max_i ||μ_i − μ*|| at the end, (B,)."""
        return np.max(np.linalg.norm(self.final_means - self.target, axis=-1), axis=-1)

    @property
    def diverged(self) -> np.ndarray:
        return self.status == DIVERGED

    def trajectory_steps(self) -> int:
        return int(self.steps.sum())


class _Monitors:
    """The Lyapunov candidates of a run and their streaming summaries (largest change, its slack, the
    steps with an increase beyond the slack, the first of them)."""

    def __init__(self, specs, K, d, B):
        self.items = []
        for spec in specs:
            try:
                m = lyapunov.resolve(spec, K, d)
            except validation.InvalidArgument as exc:
                raise validation.InvalidArgument(f"monitors: {exc}") from None
            name = m if isinstance(m, str) else m.name
            if name in self.names:
                raise validation.InvalidArgument(f"monitors: {name!r} given twice")
            self.items.append(m)
        self.max_inc = {n: np.full(B, -np.inf) for n in self.names}
        self.slack = {n: np.zeros(B) for n in self.names}
        self.n_inc = {n: np.zeros(B, dtype=np.int64) for n in self.names}
        self.first_inc = {n: np.full(B, -1, dtype=np.int64) for n in self.names}
        self.previous = np.full((B, 2), np.nan)  # R and its error before the last step

    @property
    def names(self):
        return [m if isinstance(m, str) else m.name for m in self.items]

    @property
    def candidates(self):
        return [m for m in self.items if not isinstance(m, str)]

    def stream(self, name, idx, dv, slack, t):
        """Fold one step's changes ΔV (trajectories idx) into the summaries."""
        if idx.size == 0:
            return
        better = dv > self.max_inc[name][idx]
        self.max_inc[name][idx[better]] = dv[better]
        self.slack[name][idx[better]] = slack[better]
        up = dv > slack
        self.n_inc[name][idx[up]] += 1
        fresh = idx[up & (self.first_inc[name][idx] < 0)]
        self.first_inc[name][fresh] = t

    def objective_change(self, evaluated, start, t):
        """The change of R over the last step, from consecutive evaluations (slack: both errors)."""
        if OBJECTIVE in self.names and t > 0:
            had = np.flatnonzero(evaluated & ~np.isnan(self.previous[:, 0]))
            self.stream(OBJECTIVE, had, start[had, 0] - self.previous[had, 0], start[had, 1] + self.previous[had, 1], t - 1)

    def candidate_changes(self, stepped, before, w, grad, grad_err, eta, t):
        target = np.zeros(before.shape[-1])
        for m in self.candidates:
            dv = np.asarray(m.delta(before[stepped], w[stepped], target, grad[stepped], eta), dtype=float)
            slack = np.zeros_like(dv)
            up = dv >= 0  # only a change that is not a decrease needs its slack
            if np.any(up):
                idx = stepped[up]
                slack[up] = lyapunov.change_slack(m, before[idx], w[idx], target, grad[idx], grad_err[idx], eta, dv[up])
            self.stream(m.name, stepped, dv, slack, t)

    def remember(self, stepped, start):
        if OBJECTIVE in self.names:
            self.previous[:] = np.nan
            self.previous[stepped] = start[stepped, :2]


class _Recorder:
    """The records every ``record_every`` steps: objective, its error, gradient norm, monitors, means."""

    def __init__(self, T, B, K, d, names, record_means, shift):
        self.steps = np.full(T, -1, dtype=np.int64)
        self.values, self.errors, self.grad_norms = (np.full((T, B), np.nan) for _ in range(3))
        self.monitors = {n: np.full((T, B), np.nan) for n in names}
        self.means = np.full((T, B, K, d), np.nan) if record_means else None
        self.shift = shift
        self.row = 0
        self.last = np.full((B, 3), np.nan)  # the latest evaluation of each trajectory (frozen once it stops)

    def record(self, t, evaluation, monitors, means, w):
        r = self.row
        self.steps[r] = t
        self.values[r], self.errors[r], self.grad_norms[r] = evaluation.T
        target = np.zeros(means.shape[-1])
        for m in monitors.items:
            name = m if isinstance(m, str) else m.name
            self.monitors[name][r] = evaluation[:, 0] if isinstance(m, str) else m.value(means, w, target)
        if self.means is not None:
            self.means[r] = means + self.shift
        self.row += 1


def _validate(objective, step_size, max_steps, record_every, grad_tol, param_tol, teacher, rule, samples, *,
              monitors=(), divergence_factor=1e6, escape_radius=1e6, rtol=1e-10, atol=1e-12, seed=0,
              record_means=True, progress=None):
    """Every argument of ``gradient_descent`` but the means, checked and canonical (``rfisher.validation``)."""
    V = validation
    out = dict(objective=V.choice(objective, "objective", OBJECTIVES), step_size=V.positive(step_size, "step_size"),
               max_steps=V.integer(max_steps, "max_steps", minimum=0),
               record_every=V.integer(record_every, "record_every", minimum=1),
               grad_tol=V.optional(V.positive, grad_tol, "grad_tol"), param_tol=V.optional(V.positive, param_tol, "param_tol"),
               rule=V.choice(rule, "rule", ("auto", "grid", "montecarlo")),
               samples=V.integer(samples, "samples", 2, V.MAX_SAMPLES), seed=V.seed(seed),
               # inf switches a divergence check off; below 1 the first evaluation itself would count as growth
               divergence_factor=V.at_least(divergence_factor, "divergence_factor", 1.0, allow_inf=True),
               escape_radius=V.positive(escape_radius, "escape_radius", allow_inf=True),
               rtol=V.rtol(rtol), atol=V.atol(atol), record_means=V.flag(record_means, "record_means"),
               progress=V.optional(V.flag, progress, "progress"))
    if out["max_steps"] // out["record_every"] + 2 > V.MAX_RECORDS:
        raise V.InvalidArgument(f"max_steps = {out['max_steps']} with record_every = {out['record_every']} would record "
                                f"{out['max_steps'] // out['record_every'] + 2} rows, more than {V.MAX_RECORDS}; "
                                "raise record_every")
    if not isinstance(teacher, GaussianMixture):
        raise V.InvalidArgumentType(f"teacher must be a GaussianMixture, got {type(teacher).__name__} {V.show(teacher)}")
    if isinstance(monitors, str) or not isinstance(monitors, list | tuple):
        raise V.InvalidArgumentType(f"monitors must be a list of candidates (names such as 'V_w', 'R', or candidate "
                                    f"objects), got {V.show(monitors)}")
    return out


def gradient_descent(initial_means, weights, teacher: GaussianMixture, *, step_size: float, max_steps: int,
                     objective: str = "reverse", grad_tol: float | None = None, param_tol: float | None = None,
                     record_every: int = 1, record_means: bool = True, monitors=(), divergence_factor: float = 1e6,
                     escape_radius: float = 1e6, rtol: float = 1e-10, atol: float = 1e-12, rule: str = "auto",
                     samples: int = 4096, seed: int = 0, progress: bool | None = None) -> Trajectories:
    """Run GD on ``objective`` ("reverse": R, "forward": F) from each initialization.

    initial_means (B, K, d) (or (K, d) for one trajectory); weights (K,) or (B, K); teacher a
    GaussianMixture. ``step_size`` η > 0; ``max_steps`` ≥ 0. ``monitors``: built-in candidate names
    ("V_w", "V_max", "V_bar", "U"), "R", or ``rfisher.lyapunov`` candidate objects. ``rtol``: the
    quadrature's relative tolerance at every step, ``atol`` an absolute one (error ≤ rtol·scale + atol):
    along GD the objective goes to 0, where a purely relative tolerance is neither reachable nor
    needed. ``rule``: "grid" (error-controlled quadrature), "montecarlo" (``samples`` antithetic pairs
    drawn once with ``seed`` and reused at every step: deterministic, error 3 standard errors), or
    "auto": the grid when the reduced dimension min(d, K + J − 2) is at most 3, Monte Carlo above.
    ``progress``: a progress line on stderr (default: when stderr is a terminal and the run is long).
    """
    args = _validate(objective, step_size, max_steps, record_every, grad_tol, param_tol, teacher, rule, samples,
                     monitors=monitors, divergence_factor=divergence_factor, escape_radius=escape_radius, rtol=rtol,
                     atol=atol, seed=seed, record_means=record_means, progress=progress)
    step_size, max_steps, record_every, rtol, atol = (args[k] for k in ("step_size", "max_steps", "record_every", "rtol",
                                                                        "atol"))
    init = validation.real_array(initial_means, "initial_means", finite=False)
    names = ("initial_means", "weights", "teacher.means", "teacher.weights")
    mu, w, nu, p = as_batch(init[None] if init.ndim == 2 else init, weights, teacher.means, teacher.weights, names)
    validation.distances_in_range(mu, nu, "initial_means/teacher means")
    B, K, d = mu.shape
    shift = teacher_shift(nu, p)  # work in coordinates centred at the teacher's mean (quadrature.centered)
    mu_c, nu_c = centered(mu, nu, p)
    if rule == "auto":
        rule = "grid" if min(d, K + nu.shape[1] - 2) <= 3 else "montecarlo"
    z = montecarlo.samples_for(seed, int(samples), d) if rule == "montecarlo" else np.zeros((0, d))
    mons = _Monitors(monitors, K, d, B)
    state = new_state(mu_c, w, nu_c, p)
    fns, depth = compiled.generated(K, nu.shape[1], d, objective)
    settings = Settings(float(step_size), float(rtol), float(atol), 4, 0.0 if grad_tol is None else float(grad_tol),
                        0.0 if param_tol is None else float(param_tol), float(divergence_factor), float(escape_radius),
                        objective == "reverse", depth)
    rec = _Recorder(max_steps // record_every + 2, B, K, d, mons.names, record_means, shift)
    chunk = 1 if mons.items else record_every  # monitors need every step in Python
    show = progress if progress is not None else (sys.stderr.isatty() and B * max_steps > 2_000_000)
    t_start = time.perf_counter()
    start = np.full((B, 3), np.nan)
    t = 0
    while t < max_steps and np.any(state.status == Status.RUNNING):
        running = state.status == Status.RUNNING
        before = state.means.copy()
        n = min(chunk, max_steps - t)
        start[:] = np.nan
        descend(state, settings, n, t, z, start, fns)
        evaluated = running & ~np.isnan(start[:, 0])
        mons.objective_change(evaluated, start, t)
        rec.last[evaluated] = start[evaluated]
        if t % record_every == 0:
            rec.record(t, rec.last, mons, before, w)
        stepped = np.flatnonzero(running & np.any(state.means != before, axis=(1, 2)))
        mons.candidate_changes(stepped, before, w, state.grad, state.grad_error, step_size, t)
        mons.remember(stepped, start)
        t += n
        if show:
            print(f"\rGD {objective}: step {t}/{max_steps} ({100 * t / max(1, max_steps):.0f}%), "
                  f"{int(np.sum(state.status == Status.RUNNING))} running, {time.perf_counter() - t_start:.1f}s",
                  end="", file=sys.stderr)
    if show:
        print(file=sys.stderr)
    return _finish(state, settings, fns, z, t, mons, rec, shift, objective, rule, teacher, mu, t_start)


def _finish(state, settings, fns, z, t, mons, rec, shift, objective, rule, teacher, mu, t_start) -> Trajectories:
    """Evaluate every final state (without stepping) so that the last record is exact; build the result."""
    B = len(state.status)
    probe = state._replace(status=np.zeros(B, dtype=np.int8), first_value=state.first_value.copy(),
                           diverged_at=state.diverged_at.copy(), divergence=state.divergence.copy(),
                           quadrature_failures=state.quadrature_failures.copy(),
                           worst_relative_error=state.worst_relative_error.copy(), steps=state.steps.copy())
    final = np.full((B, 3), np.nan)
    descend(probe, settings, 0, t, z, final, fns)
    mons.objective_change(~np.isnan(final[:, 0]), final, t)
    final = np.where(np.isnan(final[:, :1]), rec.last, final)
    if rec.row == 0 or rec.steps[rec.row - 1] != t:
        rec.record(t, final, mons, state.means.copy(), state.weights)
    else:
        rec.values[rec.row - 1], rec.errors[rec.row - 1], rec.grad_norms[rec.row - 1] = final.T
    code = state.status.copy()
    code[code == Status.RUNNING] = Status.MAX_STEPS
    status = np.array([STATUS_NAMES[Status(c)] for c in code])
    reasons = np.array([DIVERGENCE_REASONS[Divergence(c)].format(factor=settings.divergence_factor,
                                                                  radius=settings.escape_radius)
                        for c in state.divergence])
    T = rec.row
    for n in mons.names:
        mons.max_inc[n][np.isneginf(mons.max_inc[n])] = np.nan
    return Trajectories(
        objective=objective, rule=rule, step_size=settings.step_size, weights=state.weights.copy(), teacher=teacher,
        initial_means=mu, final_means=state.means + shift, steps=state.steps.copy(), status=status,
        diverged_at=state.diverged_at.copy(), divergence_reason=reasons, record_steps=rec.steps[:T],
        values=rec.values[:T], value_errors=rec.errors[:T], grad_norms=rec.grad_norms[:T],
        monitors={n: v[:T] for n, v in rec.monitors.items()}, means=None if rec.means is None else rec.means[:T],
        max_increase=mons.max_inc, increase_slack=mons.slack, n_increases=mons.n_inc, first_increase=mons.first_inc,
        max_quadrature_error=state.worst_relative_error.copy(), quadrature_failures=state.quadrature_failures.copy(),
        seconds=time.perf_counter() - t_start,
    )


def random_initializations(seed: int, n: int, K: int, d: int, radius: float, *, target=None,
                           coincide: float = 0.0) -> np.ndarray:
    """n initial means (n, K, d), uniform in the ball of ``radius`` around ``target`` (default 0).

    With probability ``coincide`` a component copies the previous one (coinciding components).
    Deterministic in ``seed``. ``seed`` ≥ 0, n ≥ 0, K ≥ 1, d ≥ 1 integers; ``radius`` finite > 0;
    ``target`` None or a finite point of shape (d,); ``coincide`` in [0, 1].
    """
    V = validation
    seed, n, K, d = V.seed(seed), V.integer(n, "n", minimum=0), V.integer(K, "K", minimum=1), V.integer(d, "d", minimum=1)
    radius, coincide = V.positive(radius, "radius"), V.probability(coincide, "coincide")
    if target is not None:
        target = V.real_array(target, "target", shape=(d,))
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal((n, K, d))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    r = radius * rng.random((n, K, 1)) ** (1.0 / d)
    pts = direction * r
    if coincide > 0 and K > 1:
        copy = rng.random((n, K)) < coincide
        copy[:, 0] = False
        for k in range(1, K):  # a loop over K ≤ a handful of components, not over trajectories
            pts[copy[:, k], k] = pts[copy[:, k], k - 1]
    return pts + (0.0 if target is None else target)
