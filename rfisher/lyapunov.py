"""Lyapunov candidates for GD on R (docs/theory.md, "Lyapunov candidates"), as monitors.

A candidate for one size (K, d) is a ``Monitor``: ``value(means, weights, target)``, its gradient
∇_μ V and the exact one-step change ``delta(means, weights, target, grad, eta) = V(means − eta·grad)
− V(means)``, all vectorised over a batch (means (B, K, d)). The built-in candidates and families are
SymPy expressions in ``derivations/lyapunov.py``, printed into ``rfisher/generated/lyapunov_*``:

    V_w    Σ_i w_i ||μ_i − μ*||²          (the family V_α at α = 1)
    U      Σ_i ||μ_i − μ*||²              (V_α at α = 0)
    V_max  max_i ||μ_i − μ*||
    V_bar  ||Σ_i w_i μ_i − μ*||²
    V_α    Σ_i w_i^α ||μ_i − μ*||²       (``FamilyMember("V_alpha", α)``)
    R      the objective itself (its change is read off consecutive objective values)

A user adds a candidate as a SymPy expression in the symbols of
``derivations.symbols.MixtureSymbols`` (``ms.mu[i][a]``, ``ms.w[i]``, ``ms.target[a]``)::

    from rfisher.lyapunov import UserCandidate
    V4 = UserCandidate("V_4", lambda ms: sum(ms.w[i] * sum((m - t) ** 4 for m, t in zip(ms.mu[i], ms.target))
                                             for i in range(ms.K)))
    gradient_descent(..., monitors=["V_w", V4])

Its gradient and one-step change are derived symbolically (``derivations.lyapunov``) and
lambdified for the size at hand; a built-in candidate is one more expression in derivations/ and a
regeneration (``rfisher codegen``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from rfisher import generated_modules
from rfisher.validation import InvalidArgument

OBJECTIVE = "R"


@dataclass(frozen=True)
class Monitor:
    """A resolved candidate for one size (K, d), vectorised over a batch: ``value`` -> (B,),
    ``gradient`` -> ∇_μ V (B, K, d), ``delta(..., grad, eta)`` -> V(means − eta·grad) − V(means) (B,)."""

    name: str
    value: Callable
    delta: Callable
    gradient: Callable
    critical_step: Callable | None = None


def _shape(means, weights, target, *more):
    return np.broadcast_shapes(np.shape(means)[:-2], np.shape(weights)[:-1], np.shape(target)[:-1], *more)


def _monitor(name: str, fns, K: int, d: int, parameter: tuple = ()) -> Monitor:
    """Broadcasting wrappers around printed functions (value, gradient, change[, critical step])."""
    f_value, f_gradient, f_change = fns[:3]
    f_critical = fns[3] if len(fns) > 3 else None

    def arrays(means, weights, target):
        return np.asarray(means, dtype=float), np.asarray(weights, dtype=float), np.asarray(target, dtype=float)

    def value(means, weights, target):
        m, w, t = arrays(means, weights, target)
        return np.broadcast_to(np.asarray(f_value(m, w, t, *parameter), dtype=float), _shape(m, w, t)).copy()

    def gradient(means, weights, target):
        m, w, t = arrays(means, weights, target)
        shape = _shape(m, w, t)
        parts = f_gradient(m, w, t, *parameter)
        parts = parts if isinstance(parts, tuple) else (parts,)
        return np.stack([np.broadcast_to(np.asarray(c, dtype=float), shape) for c in parts], axis=-1).reshape(*shape, K, d)

    def delta(means, weights, target, grad, eta):
        m, w, t = arrays(means, weights, target)
        g = np.asarray(grad, dtype=float)
        shape = _shape(m, w, t, g.shape[:-2], np.shape(eta))
        return np.broadcast_to(np.asarray(f_change(m, w, t, g, np.asarray(eta, dtype=float), *parameter), dtype=float),
                               shape).copy()

    critical = None
    if f_critical is not None:
        def critical(means, weights, target, grad):
            m, w, t = arrays(means, weights, target)
            g = np.asarray(grad, dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = f_critical(m, w, t, g, *parameter)
            return np.broadcast_to(np.asarray(out, dtype=float), _shape(m, w, t, g.shape[:-2])).copy()

    return Monitor(name, value, delta, gradient, critical)


@cache
def builtin(name: str, K: int, d: int) -> Monitor:
    """A built-in candidate of derivations/lyapunov.py (a family member through its family)."""
    from derivations import lyapunov

    known = {c.name: c for c in lyapunov.BUILTIN}
    if name not in known:
        raise InvalidArgument(f"unknown Lyapunov candidate {name!r}: use one of {(*known, OBJECTIVE)}, a UserCandidate "
                         "or a FamilyMember")
    if known[name].member_of is not None:
        family, parameter = known[name].member_of
        return _family(family, float(parameter), K, d, name)
    mod = generated_modules.load_lyapunov(K, d)
    return _monitor(name, (getattr(mod, name), getattr(mod, f"{name}_gradient"), getattr(mod, f"{name}_change")), K, d)


@cache
def _family(family: str, parameter: float, K: int, d: int, name: str) -> Monitor:
    from derivations import lyapunov

    if family not in lyapunov.FAMILIES:
        raise ValueError(f"unknown candidate family {family!r}; families: {sorted(lyapunov.FAMILIES)}")
    mod = generated_modules.load_lyapunov(K, d)
    fns = [getattr(mod, family), getattr(mod, f"{family}_gradient"), getattr(mod, f"{family}_change")]
    if hasattr(mod, f"{family}_critical_step"):
        fns.append(getattr(mod, f"{family}_critical_step"))
    return _monitor(name, fns, K, d, (float(parameter),))


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
        return _family(self.family, float(self.parameter), K, d, self.name)


@dataclass(frozen=True)
class UserCandidate:
    """A candidate given as ``builder(ms) -> sympy.Expr`` in ms.mu, ms.w, ms.target. Two candidates are
    the same only if they have the same name and the same builder (the formula is part of the identity)."""

    name: str
    builder: Callable

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
        raise InvalidArgument(f"candidate {name!r} uses symbols other than ms.mu, ms.w, ms.target: {sorted(map(str, free))}")
    mu = [c for row in ms.mu for c in row]
    g = [c for row in ms.g for c in row]
    args = [*mu, *ms.w, *ms.target]
    f_v = sp.lambdify(args, V, modules="numpy", cse=True)
    f_d = sp.lambdify([*args, *g, ms.eta], lyapunov.one_step_change(ms, V), modules="numpy", cse=True)
    f_g = sp.lambdify(args, [c for row in lyapunov.gradient(ms, V) for c in row], modules="numpy", cse=True)

    def unpack(means, weights, target):
        return ([means[..., i, a] for i in range(K) for a in range(d)] + [weights[..., i] for i in range(K)]
                + [target[..., a] for a in range(d)])

    fns = (lambda m, w, t: f_v(*unpack(m, w, t)), lambda m, w, t: tuple(f_g(*unpack(m, w, t))),
           lambda m, w, t, grad, eta: f_d(*unpack(m, w, t), *[grad[..., i, a] for i in range(K) for a in range(d)], eta))
    return _monitor(name, fns, K, d)


def resolve(spec, K: int, d: int) -> Monitor | str:
    """A monitor for ``spec``: a built-in name, "R", a UserCandidate or a FamilyMember."""
    if isinstance(spec, UserCandidate | FamilyMember):
        return spec.resolve(K, d)
    if spec == OBJECTIVE:
        return OBJECTIVE
    if not isinstance(spec, str):
        raise InvalidArgument(f"a Lyapunov candidate is a name, a UserCandidate or a FamilyMember, got {spec!r}")
    return builtin(spec, K, d)


def critical_step(means, weights, target, grad, candidate: str = "V_w"):
    """η* with V(θ − ηg) < V(θ) exactly for 0 < η < η* (V_w by default; any member of V_α)."""
    K, d = np.shape(means)[-2:]
    mon = resolve(candidate, K, d)
    if mon.critical_step is None:
        raise ValueError(f"no closed-form critical step for {candidate!r}")
    return mon.critical_step(means, weights, target, grad)


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
