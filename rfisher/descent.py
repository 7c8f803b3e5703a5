"""Batched gradient descent on R or F: θ ← θ − η ∇θ, all student means at once, fixed weights.

``gradient_descent`` advances a whole batch of initializations (means (B, K, d)): the steps run in
the generated compiled function ``{forward,reverse}_descend`` (evaluate with the error-controlled
quadrature, check, update, for every running trajectory), whole stretches between records at a
time; with Lyapunov monitors it returns to Python after every step to evaluate their exact
one-step changes with numpy on the whole batch. No Python loop runs over trajectories or nodes.

Per trajectory it stops on a step budget, a gradient-norm tolerance, or a parameter tolerance
(largest move of a mean in one step), and it stops and flags a trajectory that diverges: a
non-finite objective or gradient, the objective growing past ``divergence_factor`` times its
initial value, or a mean leaving the ball of radius ``escape_radius``. The others go on.

Recorded every ``record_every`` steps (and at the end): the objective, the gradient norm, every
monitored Lyapunov candidate and (optionally) the means. Streamed at every step, whatever the
stride: the largest one-step change of each candidate and how many steps increased it by more
than the accuracy slack (see ``Trajectories.increase_slack``), so that long runs stay bounded
in memory. Deterministic: the same inputs give bit-identical trajectories.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from rfisher import generated_modules, lyapunov
from rfisher.lyapunov import OBJECTIVE
from rfisher.mixture import GaussianMixture, as_batch
from rfisher.quadrature import OBJECTIVES, centered, teacher_shift

RUNNING, MAX_STEPS, GRAD_TOL, PARAM_TOL, DIVERGED = "running", "max_steps", "grad_tol", "param_tol", "diverged"


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
    quadrature_failures: np.ndarray | None = None  # (B,) steps whose tolerance was not met
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


def _as_monitors(monitors, K, d):
    out = []
    for spec in monitors:
        m = lyapunov.resolve(spec, K, d)
        name = m if isinstance(m, str) else m.name
        if name in [x if isinstance(x, str) else x.name for x in out]:
            raise ValueError(f"monitor {name!r} given twice")
        out.append(m)
    return out


def gradient_descent(
    initial_means,
    weights,
    teacher: GaussianMixture,
    *,
    step_size: float,
    max_steps: int,
    objective: str = "reverse",
    grad_tol: float | None = None,
    param_tol: float | None = None,
    record_every: int = 1,
    record_means: bool = True,
    monitors=(),
    divergence_factor: float = 1e6,
    escape_radius: float = 1e6,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    rule: str = "auto",
    samples: int = 4096,
    seed: int = 0,
    progress: bool | None = None,
) -> Trajectories:
    """Run GD on ``objective`` ("reverse": R, "forward": F) from each initialization.

    initial_means (B, K, d) (or (K, d) for one trajectory); weights (K,) or (B, K); teacher a
    GaussianMixture. ``step_size`` η > 0; ``max_steps`` ≥ 0. ``monitors``: names among "V_w",
    "V_max", "V_bar", "R", or ``rfisher.lyapunov.UserCandidate`` objects. ``rtol``: the
    quadrature's relative tolerance at every step, ``atol`` an absolute one (error ≤ rtol·scale + atol):
    along GD the objective goes to 0, where a purely relative tolerance is neither reachable (R ~ 1e−30
    at a converged state) nor needed. ``rule``: "grid" (error-controlled
    quadrature), "montecarlo" (``samples`` antithetic pairs drawn once with ``seed`` and reused at
    every step, so the runs are deterministic; the error is 3 standard errors), or "auto": the grid
    when the reduced dimension min(d, K + J − 2) is at most 3, Monte Carlo above. ``progress``: a
    progress line on stderr (default: when stderr is a terminal and the run is long).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if not (np.isfinite(step_size) and step_size > 0):
        raise ValueError(f"step_size must be a positive finite number, got {step_size!r}")
    if int(max_steps) != max_steps or max_steps < 0:
        raise ValueError(f"max_steps must be a non-negative integer, got {max_steps!r}")
    if int(record_every) != record_every or record_every < 1:
        raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
    for name, v in (("grad_tol", grad_tol), ("param_tol", param_tol)):
        if v is not None and not (v > 0):
            raise ValueError(f"{name} must be positive, got {v!r}")
    if not isinstance(teacher, GaussianMixture):
        raise ValueError("teacher must be a GaussianMixture")
    init = np.asarray(initial_means, dtype=float)
    if init.ndim == 2:
        init = init[None]
    mu, w, nu, p = as_batch(init, weights, teacher.means, teacher.weights)
    B, K, d = mu.shape
    shift = teacher_shift(nu, p)  # work in coordinates centred at the teacher's mean (see quadrature.centered)
    mu_c, nu_c = centered(mu, nu, p)
    target = np.zeros(d)
    if rule not in ("auto", "grid", "montecarlo"):
        raise ValueError(f"rule must be 'auto', 'grid' or 'montecarlo', got {rule!r}")
    if rule == "auto":
        rule = "grid" if min(d, K + nu.shape[1] - 2) <= 3 else "montecarlo"
    if rule == "montecarlo":
        if int(samples) != samples or samples < 2:
            raise ValueError(f"samples must be an integer ≥ 2, got {samples!r}")
        z = np.random.default_rng(seed).standard_normal((int(samples), d))
    else:
        z = np.zeros((0, d))
    mons = _as_monitors(monitors, K, d)
    names = [m if isinstance(m, str) else m.name for m in mons]

    module = generated_modules.load(K, nu.shape[1], d)
    descend = module.reverse_descend if objective == "reverse" else module.forward_descend
    lyap = [m for m in mons if not isinstance(m, str)]
    chunk = 1 if mons else record_every  # monitors need every step in Python; otherwise whole chunks compile-run

    T = max_steps // record_every + 2
    rec_steps = np.full(T, -1, dtype=np.int64)
    values, value_errors, grad_norms = (np.full((T, B), np.nan) for _ in range(3))
    mon_rec = {n: np.full((T, B), np.nan) for n in names}
    means_rec = np.full((T, B, K, d), np.nan) if record_means else None
    max_inc = {n: np.full(B, -np.inf) for n in names}
    inc_slack = {n: np.zeros(B) for n in names}
    n_inc = {n: np.zeros(B, dtype=np.int64) for n in names}
    first_inc = {n: np.full(B, -1, dtype=np.int64) for n in names}
    # state shared with the compiled steps (see the generated *_descend)
    code = np.zeros(B, dtype=np.int8)
    steps = np.zeros(B, dtype=np.int64)
    init_value = np.full(B, np.nan)
    first = np.full((B, 3), np.nan)
    last = np.full((B, 3), np.nan)
    grad = np.zeros((B, K, d))
    grad_err = np.zeros((B, K, d))
    q_fail = np.zeros(B, dtype=np.int64)
    max_qerr = np.zeros(B)
    div_at = np.full(B, -1, dtype=np.int64)
    div_code = np.zeros(B, dtype=np.int8)
    current = np.full((B, 3), np.nan)  # value, error, grad norm at the current recorded state
    prev = np.full((B, 2), np.nan)  # R and its error before the last step (for the "R" monitor)

    show = progress if progress is not None else (sys.stderr.isatty() and B * max_steps > 2_000_000)
    t_start = time.perf_counter()
    row = 0
    gtol = 0.0 if grad_tol is None else float(grad_tol)
    ptol = 0.0 if param_tol is None else float(param_tol)

    def run(n, t, status_arr):
        descend(mu_c, w, nu_c, p, float(step_size), int(n), float(rtol), float(atol), 4, gtol, ptol, float(divergence_factor),
                float(escape_radius), int(t), status_arr, steps, init_value, first, last, grad, grad_err, q_fail,
                max_qerr, div_at, div_code, z)

    def record(t, before):
        nonlocal row
        rec_steps[row] = t
        values[row], value_errors[row], grad_norms[row] = current.T
        for m in mons:
            n = m if isinstance(m, str) else m.name
            mon_rec[n][row] = current[:, 0] if isinstance(m, str) else m.value(before, w, target)
        if means_rec is not None:
            means_rec[row] = before + shift
        row += 1

    t = 0
    while t < max_steps and np.any(code == 0):
        running = code == 0
        before = mu_c.copy() if (lyap or means_rec is not None or t % record_every == 0) else None
        n = min(chunk, max_steps - t)
        run(n, t, code)
        evaluated = running & ~((code == 4) & (div_at == t))
        current[evaluated] = first[evaluated]
        if OBJECTIVE in names and t > 0:
            had = np.flatnonzero(evaluated & ~np.isnan(prev[:, 0]))
            _stream(OBJECTIVE, had, first[had, 0] - prev[had, 0], first[had, 1] + prev[had, 1], t - 1,
                    max_inc, inc_slack, n_inc, first_inc)
        if t % record_every == 0:
            record(t, before)
        stepped = np.flatnonzero(running & (steps > 0) & (code != 4) & ~((code == 2) & (current[:, 2] <= gtol)))
        stepped = stepped[np.any(mu_c[stepped] != before[stepped], axis=(1, 2))] if (lyap and stepped.size) else stepped
        for m in lyap:
            idx = stepped
            dv = np.asarray(m.delta(before[idx], w[idx], target, grad[idx], step_size), dtype=float)
            slack = np.zeros_like(dv)
            up = dv >= 0  # only a change that is not a decrease needs its slack
            if np.any(up):
                slack[up] = lyapunov.change_slack(m, before[idx][up], w[idx][up], target, grad[idx][up], grad_err[idx][up],
                                                  step_size, dv[up])
            _stream(m.name, idx, dv, slack, t, max_inc, inc_slack, n_inc, first_inc)
        if OBJECTIVE in names:
            prev[:] = np.nan
            prev[stepped] = first[stepped, :2]
        t += n
        if show:
            print(f"\rGD {objective}: step {t}/{max_steps} ({100 * t / max(1, max_steps):.0f}%), "
                  f"{int(np.sum(code == 0))} running, {time.perf_counter() - t_start:.1f}s", end="", file=sys.stderr)
    if show:
        print(file=sys.stderr)
    # evaluate every final state (without stepping) so that the last record is exact
    probe = np.zeros(B, dtype=np.int8)
    saved = (init_value.copy(), div_at.copy(), div_code.copy(), q_fail.copy(), max_qerr.copy())
    first[:] = np.nan
    run(0, t, probe)
    init_value[:], div_at[:], div_code[:], q_fail[:], max_qerr[:] = saved
    current[:] = first
    if OBJECTIVE in names:
        had = np.flatnonzero(~np.isnan(prev[:, 0]) & ~np.isnan(first[:, 0]))
        _stream(OBJECTIVE, had, first[had, 0] - prev[had, 0], first[had, 1] + prev[had, 1], t - 1,
                max_inc, inc_slack, n_inc, first_inc)
    code[code == 0] = 1
    if row == 0 or rec_steps[row - 1] != t:
        record(t, mu_c.copy())
    for n in names:
        max_inc[n][np.isneginf(max_inc[n])] = np.nan
    status = np.array([MAX_STEPS, MAX_STEPS, GRAD_TOL, PARAM_TOL, DIVERGED])[code]
    reason = np.array(["", "non-finite objective or gradient", f"objective grew past {divergence_factor:g}× its initial value",
                       f"a mean left the ball of radius {escape_radius:g}"])[div_code]
    return Trajectories(
        objective=objective, rule=rule, step_size=float(step_size), weights=w.copy(), teacher=teacher,
        initial_means=mu, final_means=mu_c + shift, steps=steps, status=status, diverged_at=div_at,
        divergence_reason=reason, record_steps=rec_steps[:row], values=values[:row],
        value_errors=value_errors[:row], grad_norms=grad_norms[:row], monitors={n: v[:row] for n, v in mon_rec.items()},
        means=None if means_rec is None else means_rec[:row], max_increase=max_inc, increase_slack=inc_slack,
        n_increases=n_inc, first_increase=first_inc, max_quadrature_error=max_qerr, quadrature_failures=q_fail,
        seconds=time.perf_counter() - t_start,
    )


def _stream(name, idx, dv, slack, t, max_inc, inc_slack, n_inc, first_inc):
    """Fold one step's changes ΔV (for trajectories idx) into the streaming summaries."""
    if idx.size == 0:
        return
    better = dv > max_inc[name][idx]
    max_inc[name][idx[better]] = dv[better]
    inc_slack[name][idx[better]] = slack[better]
    up = dv > slack
    n_inc[name][idx[up]] += 1
    fresh = idx[up & (first_inc[name][idx] < 0)]
    first_inc[name][fresh] = t


def random_initializations(seed: int, n: int, K: int, d: int, radius: float, *, target=None,
                           coincide: float = 0.0) -> np.ndarray:
    """n initial means (n, K, d), uniform in the ball of ``radius`` around ``target`` (default 0).

    With probability ``coincide`` a component copies the previous one (coinciding components).
    Deterministic in ``seed``.
    """
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
    return pts + (0.0 if target is None else np.asarray(target, dtype=float))
