"""The state of a batch of GD trajectories, shared by the compiled steps and Python.

``Status`` and ``Divergence`` are the codes the compiled loop writes and ``rfisher.descent`` reads;
``State`` holds every per-trajectory array the loop updates (one named field each, instead of a
list of positional arguments), ``Settings`` the scalars it reads.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np


class Status(IntEnum):
    """Why a trajectory stopped (RUNNING while it has not)."""

    RUNNING = 0
    MAX_STEPS = 1
    GRAD_TOL = 2
    PARAM_TOL = 3
    DIVERGED = 4


class Divergence(IntEnum):
    """What flagged a diverged trajectory."""

    NONE = 0
    NON_FINITE = 1  # a non-finite objective or gradient
    GREW = 2  # the objective passed divergence_factor times its first value
    ESCAPED = 3  # a mean left the ball of radius escape_radius


STATUS_NAMES = {Status.MAX_STEPS: "max_steps", Status.GRAD_TOL: "grad_tol", Status.PARAM_TOL: "param_tol",
                Status.DIVERGED: "diverged", Status.RUNNING: "max_steps"}


class State(NamedTuple):
    """Per-trajectory arrays (B trajectories, K components, d dimensions, in coordinates centred at
    the teacher's mean)."""

    means: np.ndarray  # (B, K, d) current means
    weights: np.ndarray  # (B, K)
    teacher_means: np.ndarray  # (B, J, d)
    teacher_weights: np.ndarray  # (B, J)
    status: np.ndarray  # (B,) int8 Status
    steps: np.ndarray  # (B,) GD steps taken
    first_value: np.ndarray  # (B,) the objective at the first evaluation (NaN before)
    current: np.ndarray  # (B, 3) value, its error bound, gradient norm at the last evaluation
    grad: np.ndarray  # (B, K, d) gradient at the last evaluation
    grad_error: np.ndarray  # (B, K, d) its error bound
    quadrature_failures: np.ndarray  # (B,) evaluations whose tolerance was not met
    worst_relative_error: np.ndarray  # (B,) largest error/scale met
    diverged_at: np.ndarray  # (B,) step at which divergence was flagged, −1 if none
    divergence: np.ndarray  # (B,) int8 Divergence
    plan: np.ndarray  # (B, 3) where the next quadrature starts (rfisher.quadrature.integrate_one)


class Settings(NamedTuple):
    """The scalars of one run: step size, quadrature tolerances, stopping and divergence rules."""

    step_size: float
    rtol: float
    atol: float
    max_refine: int
    grad_tol: float  # 0: off
    param_tol: float  # 0: off
    divergence_factor: float
    escape_radius: float
    reverse: bool  # GD on R (else on F)
    depth: float  # the evaluation depth of the generated integrand (its rounding bound)


def new_state(means, weights, teacher_means, teacher_weights) -> State:
    B, K, d = means.shape
    return State(means=np.ascontiguousarray(means, dtype=float), weights=np.ascontiguousarray(weights, dtype=float),
                 teacher_means=np.ascontiguousarray(teacher_means, dtype=float),
                 teacher_weights=np.ascontiguousarray(teacher_weights, dtype=float),
                 status=np.full(B, Status.RUNNING, dtype=np.int8), steps=np.zeros(B, dtype=np.int64),
                 first_value=np.full(B, np.nan), current=np.full((B, 3), np.nan), grad=np.zeros((B, K, d)),
                 grad_error=np.zeros((B, K, d)), quadrature_failures=np.zeros(B, dtype=np.int64),
                 worst_relative_error=np.zeros(B), diverged_at=np.full(B, -1, dtype=np.int64),
                 divergence=np.zeros(B, dtype=np.int8), plan=np.tile([1.0, 1.0, 0.0], (B, 1)))
