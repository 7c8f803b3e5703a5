"""Error-controlled quadrature for Gaussian-mixture expectations (SPEC.md, "Objects").

An expectation under a mixture is a sum of Gaussian expectations,
E_{Σ w_c N(c, I)}[f] = Σ_c w_c E_{z~N(0,I)}[f(c + z)], and rfisher computes each with a
trapezoid (sinc) rule in z, which converges geometrically for integrands analytic in a strip.

**Reduction.** The responsibilities depend on x only through ⟨μ_k − μ_l, x⟩ and ⟨ν_j − ν_l, x⟩,
so every integrand here is f(c + z) = g(U^T z) + ⟨h(U^T z), z_⊥⟩ with U an orthonormal basis of
S = span{μ_k − μ_1, ν_j − ν_1} (dim s ≤ min(d, K + J − 2)) and z_⊥ ⟂ S independent of U^T z. The
term linear in z_⊥ has mean 0, so E[f(c + z)] = E_{y~N(0,I_s)}[f(c + U y)] exactly: a d-dimensional
integral is an s-dimensional one. (K = 2 students and one teacher: s = 1 in any d.)

**Step size.** A softmax of logits with slope δ along an axis has complex poles at distance
a = π/|δ| from the real axis, so the trapezoid error along that axis behaves like
ρ_c exp(−2πa/h + a²/2) (the a²/2 is the growth of the Gaussian weight off the axis), where ρ_c is
the Gaussian mass at the transition: w_c exp(−dist(c, transition)²/2), times exp(−gap) when a third
component's logit exceeds the pair's there by gap (it masks the transition). Without transitions the
rule is limited by the Gaussian itself, ~exp(−2π²/h²). ``plan_grid`` picks per axis the step H
at which this model predicts an error below the tolerance, and then uses h = H/2.

**Error estimate.** The nodes of step 2h are the even nodes of step h, so both sums come from
one pass. For a geometrically convergent rule err(h) ≈ err(2h)²/C ≪ err(2h), hence

    |T_h − T_2h| + (rounding) + (tail beyond the radius)  ≥  |T_h − I|,

the error of the rule we return: a conservative estimate (typically the true error is much
smaller). The rounding term is ε(64 + 2√N)·Σ|w f| and the tail term is an explicit bound of the
integrand's growth times Gaussian (χ_s) tail moments. ``integrate`` shrinks the steps (×0.7) of any
parameter set whose estimate exceeds rtol·scale + atol, up to ``max_refine`` times (or widens the
disk where the tail bound is what exceeds it), and flags any that still fails. The scale is Σ|w f|
for the objective and the largest Σ|w f| over the gradient's entries for each gradient entry
(norm-wise relative error of the gradient; ``group_scale``).

The loops over a batch and over nodes run in the generated numba kernels
(``rfisher/generated/mixture_k*_j*_d*.py``); this module only plans the grids and reads the sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rfisher import generated_modules
from rfisher.mixture import as_batch
from rfisher.planning import EPS, TAIL_SHARE, basis_one, estimate_one, plan_one, tail_one  # noqa: F401

OBJECTIVES = ("forward", "reverse")


@dataclass
class GridPlan:
    """Per parameter set b: basis (B, d, S), steps (B, S), counts (B, S), radius (B,), rank (B,)."""

    basis: np.ndarray
    steps: np.ndarray
    counts: np.ndarray
    radius: np.ndarray
    rank: np.ndarray


@dataclass
class QuadratureResult:
    """Integrals of [||e||², gradient entries] for a batch, each with a conservative error.

    value (B, P): the rule with step h; error (B, P): the estimate described in the module
    docstring (≥ the true error); scale (B, P): Σ|w f| per output; nodes (B,): nodes used;
    converged (B,): error ≤ rtol·group_scale(scale) + atol for every output;
    objective: "forward" or "reverse".
    """

    value: np.ndarray
    error: np.ndarray
    scale: np.ndarray
    nodes: np.ndarray
    converged: np.ndarray
    objective: str
    rtol: float
    atol: float


def group_scale(scale: np.ndarray) -> np.ndarray:
    """The scale each output's error is measured against: the value's own Σ|w f| for output 0,
    and the largest Σ|w f| over the gradient entries for the gradient (norm-wise relative error,
    so an entry that is 1e−57 because its component is far away needs no 57 digits)."""
    out = np.empty_like(scale)
    out[:, :1] = scale[:, :1]
    if scale.shape[1] > 1:
        out[:, 1:] = np.max(scale[:, 1:], axis=1, keepdims=True)
    return out


def teacher_shift(teacher_means, teacher_weights):
    """Σ_j π_j ν_j per parameter set, (B, 1, d)."""
    # an explicit sum over the J components: elementwise, so the shift of one parameter set does not
    # depend on the batch it sits in (einsum's summation order can, which broke bit-reproducibility)
    shift = teacher_weights[:, 0, None] * teacher_means[:, 0]
    for j in range(1, teacher_means.shape[1]):
        shift = shift + teacher_weights[:, j, None] * teacher_means[:, j]
    return shift[:, None, :]


def centered(means, teacher_means, teacher_weights):
    """Translate so the teacher's mean Σ π_j ν_j is the origin (values and gradients are invariant;
    it avoids cancellation in e = m_θ − m_p far from the origin)."""
    shift = teacher_shift(teacher_means, teacher_weights)
    return np.ascontiguousarray(means - shift), np.ascontiguousarray(teacher_means - shift)


def _check(objective, rtol):
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if not (0 < rtol < 1):
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")


def integrate_prepared(objective, mu, w, nu, p, rtol=1e-12, atol=0.0, max_refine=4) -> QuadratureResult:
    """``integrate`` for arrays already validated, broadcast and centred (the GD runner's entry)."""
    B, K, d = mu.shape
    module = generated_modules.load(K, nu.shape[1], d)
    driver = module.reverse_integrate if objective == "reverse" else module.forward_integrate
    P = module.N_OUTPUTS
    value, error, scale = np.empty((B, P)), np.empty((B, P)), np.empty((B, P))
    nodes, ok = np.zeros(B, dtype=np.int64), np.zeros(B, dtype=np.bool_)
    driver(mu, w, nu, p, float(rtol), float(atol), int(max_refine), value, error, scale, nodes, ok)
    return QuadratureResult(value=value, error=error, scale=scale, nodes=nodes, converged=ok,
                            objective=objective, rtol=rtol, atol=atol)


def integrate(objective, means, weights, teacher_means, teacher_weights=None, *, rtol=1e-12, atol=0.0,
              max_refine=4) -> QuadratureResult:
    """E[[||e||², gradient integrand]] for a batch: ``forward`` under p, ``reverse`` under q_θ.

    means (B, K, d); weights (K,) or (B, K); teacher_means (J, d) or (B, J, d); teacher_weights
    (J,) or (B, J) (default uniform). Returns a QuadratureResult with value[:, 0] the objective
    (F or R) and value[:, 1:] its gradient, flattened as (K, d). One compiled call plans, sums,
    estimates and refines every parameter set.
    """
    _check(objective, rtol)
    mu, w, nu, p = as_batch(means, weights, teacher_means, teacher_weights)
    mu, nu = centered(mu, nu, p)
    return integrate_prepared(objective, mu, w, nu, p, rtol, atol, max_refine)


# --- the same rule, step by step from Python (cross-checks and ``expectation``) -----------------


def _measure(objective, mu, w, nu, p):
    return (mu, w) if objective == "reverse" else (nu, p)


def plan_grid(objective, means, weights, teacher_means, teacher_weights, rtol, refine=None,
              radius_boost=None, full=False) -> GridPlan:
    """The plans the compiled driver makes, for a validated and centred batch (Python loop).

    ``refine`` (B,) shrinks the steps by 0.7 that many times; ``radius_boost`` (B,) adds to radius².
    ``full``: grid all d axes of R^d (for integrands that depend on x in every direction, which
    the reduction does not cover).
    """
    B, K, d = means.shape
    J = teacher_means.shape[1]
    module = generated_modules.load(K, J, d)
    centers, cweights = _measure(objective, means, weights, teacher_means, teacher_weights)
    bases, ranks = np.empty((B, d, d)), np.empty(B, dtype=np.int64)
    steps, counts, radius = np.ones((B, d)), np.zeros((B, d), dtype=np.int64), np.empty(B)
    for b in range(B):
        C = centers.shape[1]
        alpha_s, alpha_t = np.empty((C, K)), np.empty((C, J))
        module.logits_at(centers[b], means[b], weights[b], teacher_means[b], teacher_weights[b], alpha_s, alpha_t)
        ranks[b] = basis_one(means[b], teacher_means[b], full, bases[b])
        radius[b] = plan_one(centers[b], cweights[b], means[b], teacher_means[b], alpha_s, alpha_t, bases[b],
                             ranks[b], rtol, 0 if refine is None else int(refine[b]),
                             0.0 if radius_boost is None else float(radius_boost[b]), steps[b], counts[b])
    S = max(1, int(ranks.max()))
    return GridPlan(basis=np.ascontiguousarray(bases[:, :, :S]), steps=np.ascontiguousarray(steps[:, :S]),
                    counts=np.ascontiguousarray(counts[:, :S]), radius=radius, rank=ranks)


def tail_bound(objective, means, weights, teacher_means, teacher_weights, plan: GridPlan) -> np.ndarray:
    """``rfisher.planning.tail_one`` for each parameter set of a batch, (B, 1 + K·d)."""
    B, K, d = means.shape
    centers, cweights = _measure(objective, means, weights, teacher_means, teacher_weights)
    out = np.empty((B, 1 + K * d))
    for b in range(B):
        tail_one(objective == "reverse", centers[b], cweights[b], means[b], teacher_means[b], int(plan.rank[b]),
                 float(plan.radius[b]), out[b])
    return out


def _run_kernel(objective, means, weights, teacher_means, teacher_weights, plan: GridPlan):
    """The compiled sums for each parameter set on a given plan: (B, 3, P) and nodes (B,)."""
    B, K, d = means.shape
    module = generated_modules.load(K, teacher_means.shape[1], d)
    kernel = module.reverse_sum if objective == "reverse" else module.forward_sum
    out = np.empty((B, 3, module.N_OUTPUTS))
    npoints = np.empty(B, dtype=np.int64)
    for b in range(B):
        npoints[b] = kernel(means[b], weights[b], teacher_means[b], teacher_weights[b], plan.basis[b],
                            plan.steps[b], plan.counts[b], float(plan.radius[b]), out[b])
    return out, npoints


def _estimate(out, npoints, tail):
    """value, error, scale (B, P) from sums, as ``rfisher.planning.estimate_one``."""
    value = out[:, 0]
    scale = out[:, 2]
    rounding = EPS * (64 + 2 * np.sqrt(npoints))[:, None] * scale
    error = np.abs(out[:, 0] - out[:, 1]) + rounding + tail
    return value, error, scale


def grid_nodes(plan: GridPlan, b: int, centers: np.ndarray, center_weights: np.ndarray):
    """The nodes of parameter set b explicitly: x (N, d), weight (N,), even (N,) (on the 2h grid).

    The same rule as the kernels, written with plain numpy for cross-checks (tests only).
    """
    S = plan.basis.shape[2]
    axes, wts, evens = [], [], []
    for a in range(S):
        m = int(plan.counts[b, a])
        n = np.arange(-m, m + 1)
        if m == 0:
            axes.append(np.zeros(1))
            wts.append(np.ones(1))
        else:
            y = n * plan.steps[b, a]
            axes.append(y)
            wts.append(plan.steps[b, a] * np.exp(-0.5 * y * y) / math.sqrt(2 * math.pi))
        evens.append(n % 2 == 0)
    Y = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, S)
    Wt = np.prod(np.stack(np.meshgrid(*wts, indexing="ij"), axis=-1).reshape(-1, S), axis=1)
    Ev = np.all(np.stack(np.meshgrid(*evens, indexing="ij"), axis=-1).reshape(-1, S), axis=1)
    inside = np.sum(Y * Y, axis=1) <= plan.radius[b] ** 2
    Y, Wt, Ev = Y[inside], Wt[inside], Ev[inside]
    X = centers[:, None, :] + (Y @ plan.basis[b].T)[None, :, :]  # (C, N, d)
    W = center_weights[:, None] * Wt[None, :]
    E = np.broadcast_to(Ev, W.shape)
    return X.reshape(-1, X.shape[-1]), W.reshape(-1), E.reshape(-1)


def integrate_numpy(objective, means, weights, teacher_means, teacher_weights=None, *, rtol=1e-12, integrands=None):
    """The same rule as ``integrate`` (no refinement), with explicit nodes and numpy integrands.

    A cross-check of the kernels: ``integrands`` is a module with ``forward_integrand`` and
    ``reverse_integrand`` (default: ``rfisher.generic``). Loops over the batch in Python.
    """
    from rfisher import generic

    integrands = generic if integrands is None else integrands
    mu, w, nu, p = as_batch(means, weights, teacher_means, teacher_weights)
    mu, nu = centered(mu, nu, p)
    f = integrands.reverse_integrand if objective == "reverse" else integrands.forward_integrand
    plan = plan_grid(objective, mu, w, nu, p, rtol)
    tail = tail_bound(objective, mu, w, nu, p, plan)
    B = mu.shape[0]
    out = np.empty((B, 3, 1 + mu.shape[1] * mu.shape[2]))
    npoints = np.empty(B, dtype=np.int64)
    for b in range(B):
        centers, cw = (mu[b], w[b]) if objective == "reverse" else (nu[b], p[b])
        X, W, E = grid_nodes(plan, b, centers, cw)
        vals = f(X, mu[b], w[b], nu[b], p[b])
        fac = 2.0 ** int(np.sum(plan.counts[b] > 0))
        out[b, 0] = W @ vals
        out[b, 1] = (fac * W * E) @ vals
        out[b, 2] = W @ np.abs(vals)
        npoints[b] = len(W)
    value, error, scale = _estimate(out, npoints, tail)
    return QuadratureResult(value=value, error=error, scale=scale, nodes=npoints,
                            converged=np.all(error <= rtol * group_scale(scale), axis=1), objective=objective,
                            rtol=rtol, atol=0.0)


#: Radius used by ``expectation`` for integrands of unknown growth: the Gaussian mass outside
#: ||y|| > 12 is < 1e−30, so polynomially bounded integrands lose nothing measurable.
EXPECTATION_RADIUS = 12.0


def expectation(f, means, weights, teacher_means, teacher_weights=None, *, under="student", rtol=1e-12):
    """E[f(x)] under the student (``under="student"``) or the teacher, for one parameter set.

    ``f`` maps points (N, d) to values (N, P), and may depend on x in every direction: the grid
    covers all d axes (no reduction), with steps from the transitions of both mixtures and
    radius ``EXPECTATION_RADIUS``; returns (value (P,),
    error (P,)) with error = |T_h − T_2h| + rounding. For checking identities, not a hot path.
    """
    if under not in ("student", "teacher"):
        raise ValueError(f"under must be 'student' or 'teacher', got {under!r}")
    mu, w, nu, p = as_batch(np.asarray(means)[None], weights, teacher_means, teacher_weights)
    objective = "reverse" if under == "student" else "forward"
    plan = plan_grid(objective, mu, w, nu, p, rtol, full=True)
    plan.radius = np.maximum(plan.radius, EXPECTATION_RADIUS)
    plan.counts = np.where(plan.counts > 0, np.ceil(plan.radius[:, None] / plan.steps).astype(np.int64), 0)
    centers, cw = (mu[0], w[0]) if under == "student" else (nu[0], p[0])
    X, W, E = grid_nodes(plan, 0, centers, cw)
    vals = np.asarray(f(X), dtype=float).reshape(len(W), -1)
    fac = 2.0 ** int(np.sum(plan.counts[0] > 0))
    fine = W @ vals
    coarse = (fac * W * E) @ vals
    scale = W @ np.abs(vals)
    return fine, np.abs(fine - coarse) + EPS * (64 + 2 * np.sqrt(len(W))) * scale
