"""Lyapunov candidates as monitors for the GD runner (SPEC.md, claim C5).

A monitor has a ``value(means, weights, target)`` and the exact one-step change
``delta(means, weights, target, grad, eta) = V(means − eta·grad) − V(means)``, both vectorized
over a batch (means (B, K, d)). Built-in candidates come from ``rfisher/generated/lyapunov_*``
(printed from derivations/lyapunov.py):

    V_w    Σ_i w_i ||μ_i − μ*||²
    V_max  max_i ||μ_i − μ*||
    V_bar  ||Σ_i w_i μ_i − μ*||²
    R      the objective itself (its change is read off consecutive objective values)

A user adds a candidate as a SymPy expression, built from the symbols of
``derivations.symbols.MixtureSymbols`` (``ms.mu[i][a]``, ``ms.w[i]``, ``ms.target[a]``)::

    from rfisher.lyapunov import UserCandidate
    V4 = UserCandidate("V_4", lambda ms: sum(ms.w[i] * sum((m - t) ** 4 for m, t in zip(ms.mu[i], ms.target))
                                             for i in range(ms.K)))
    gradient_descent(..., monitors=["V_w", V4])

Its one-step change is derived symbolically (``derivations.lyapunov.one_step_change``) and both
are lambdified to numpy for the size at hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from rfisher import generated_modules

BUILTIN_NAMES = ("V_w", "V_max", "V_bar", "U")
OBJECTIVE = "R"


@dataclass(frozen=True)
class Monitor:
    """A resolved candidate for one size (K, d), vectorized over a batch (means (B, K, d), weights
    (B, K) or (K,), target (d,)): ``value`` -> (B,), ``gradient`` -> ∇_μ V (B, K, d), ``delta(...,
    grad, eta)`` -> V(means − eta·grad) − V(means) (B,)."""

    name: str
    value: Callable
    delta: Callable
    gradient: Callable | None = None


@dataclass(frozen=True)
class FamilyMember:
    """A member of a candidate family of ``derivations.lyapunov.FAMILIES`` at one parameter value,
    e.g. ``FamilyMember("V_alpha", 0.5)`` is V_α with α = 1/2."""

    family: str
    parameter: float

    @property
    def name(self) -> str:
        return f"{self.family}({self.parameter:g})"

    def resolve(self, K: int, d: int) -> Monitor:
        from derivations import lyapunov

        if self.family not in lyapunov.FAMILIES:
            raise ValueError(f"unknown candidate family {self.family!r}; families: {sorted(lyapunov.FAMILIES)}")
        builder, symbol, _ = lyapunov.FAMILIES[self.family]
        return _lambdified(self.name, lambda ms: builder(ms, float(self.parameter)), K, d)


@dataclass(frozen=True)
class UserCandidate:
    """A candidate given as ``builder(ms) -> sympy.Expr`` in ms.mu, ms.w, ms.target."""

    name: str
    builder: Callable = field(compare=False)

    def resolve(self, K: int, d: int) -> Monitor:
        return _lambdified(self.name, self.builder, K, d)


@cache
def _lambdified(name: str, builder: Callable, K: int, d: int) -> Monitor:
    import sympy as sp

    from derivations import lyapunov
    from derivations.symbols import MixtureSymbols

    ms = MixtureSymbols(K, 1, d)
    V = sp.sympify(builder(ms))
    free = V.free_symbols - {c for row in ms.mu for c in row} - set(ms.w) - set(ms.target)
    if free:
        raise ValueError(f"candidate {name!r} uses symbols other than ms.mu, ms.w, ms.target: {sorted(map(str, free))}")
    dV = lyapunov.one_step_change(ms, V)
    grad = [c for row in lyapunov.gradient(ms, V) for c in row]
    mu = [c for row in ms.mu for c in row]
    g = [c for row in ms.g for c in row]
    f_v = sp.lambdify([*mu, *ms.w, *ms.target], V, modules="numpy", cse=True)
    f_d = sp.lambdify([*mu, *ms.w, *ms.target, *g, ms.eta], dV, modules="numpy", cse=True)
    f_g = sp.lambdify([*mu, *ms.w, *ms.target], grad, modules="numpy", cse=True)

    def unpack(means, weights, target):
        means, weights, target = np.asarray(means), np.asarray(weights), np.asarray(target)
        return [means[..., i, a] for i in range(K) for a in range(d)] + [weights[..., i] for i in range(K)] + \
            [target[..., a] for a in range(d)]

    def value(means, weights, target):
        shape = np.broadcast_shapes(np.shape(means)[:-2], np.shape(weights)[:-1], np.shape(target)[:-1])
        return np.broadcast_to(np.asarray(f_v(*unpack(means, weights, target)), dtype=float), shape)

    def delta(means, weights, target, grad, eta):
        grad = np.asarray(grad)
        shape = np.broadcast_shapes(np.shape(means)[:-2], np.shape(weights)[:-1], np.shape(target)[:-1], grad.shape[:-2])
        gs = [grad[..., i, a] for i in range(K) for a in range(d)]
        return np.broadcast_to(np.asarray(f_d(*unpack(means, weights, target), *gs, eta), dtype=float), shape)

    def gradient(means, weights, target):
        shape = np.broadcast_shapes(np.shape(means)[:-2], np.shape(weights)[:-1], np.shape(target)[:-1])
        parts = [np.broadcast_to(np.asarray(c, dtype=float), shape) for c in f_g(*unpack(means, weights, target))]
        return np.stack(parts, axis=-1).reshape(*shape, K, d)

    return Monitor(name, value, delta, gradient)


def resolve(spec, K: int, d: int) -> Monitor | str:
    """A monitor for ``spec``: a built-in name, "R", a UserCandidate or a FamilyMember."""
    if isinstance(spec, UserCandidate | FamilyMember):
        return spec.resolve(K, d)
    if spec == OBJECTIVE:
        return OBJECTIVE
    if spec in BUILTIN_NAMES:
        mod = generated_modules.load_lyapunov(K, d)
        return Monitor(spec, getattr(mod, spec), getattr(mod, f"delta_{spec}"), _builtin_gradient(spec, K, d))
    raise ValueError(f"unknown Lyapunov candidate {spec!r}: use one of {(*BUILTIN_NAMES, OBJECTIVE)}, "
                     "a UserCandidate or a FamilyMember")


def _builtin_gradient(name: str, K: int, d: int):
    from derivations import lyapunov

    builder = {c.name: c.builder for c in lyapunov.BUILTIN}[name]
    return _lambdified(name, builder, K, d).gradient


def critical_step(means, weights, target, grad):
    """η* = 2Σ w_i⟨μ_i − μ*, g_i⟩ / Σ w_i||g_i||²: V_w decreases along θ − ηg exactly for 0 < η < η*."""
    K, d = np.shape(means)[-2:]
    return generated_modules.load_lyapunov(K, d).V_w_critical_step(means, weights, target, grad)


def change_slack(mon: Monitor, mu, w, target, grad, grad_err, eta, dv):
    """How much ΔV could differ between the step taken and the exact GD step: the gradient is
    known within ±err (|ΔV(ĝ ± err) − ΔV(ĝ)|), and the iterate and V are rounded (|ΔV(μ ± δ) −
    ΔV(μ)| and |V(μ ± δ) − V(μ)| with δ = 4ε(|μ| + η|ĝ|), plus 16ε|V|)."""
    eps = np.finfo(float).eps
    delta_mu = 4 * eps * (np.abs(mu) + eta * np.abs(grad))
    moved = [mon.delta(mu, w, target, grad + s * grad_err, eta) for s in (1, -1)]
    moved += [mon.delta(mu + s * delta_mu, w, target, grad, eta) for s in (1, -1)]
    v = mon.value(mu, w, target)
    # V itself is only known up to its change under a rounding-size move of the means
    wiggle = [np.abs(mon.value(mu + s * delta_mu, w, target) - v) for s in (1, -1)]
    return np.max(np.abs(np.stack(moved) - dv), axis=0) + sum(wiggle) + 16 * eps * (np.abs(v) + np.abs(dv))
