"""Lyapunov candidates for GD on R (docs/theory.md, "Lyapunov candidates") and their exact one-step change.

A candidate is a SymPy expression V(μ, w, μ*) in the student means ``ms.mu``, the weights
``ms.w`` and the target ``ms.target`` (the single-Gaussian teacher's mean). Its change along
one GD step θ ↦ θ − η g is

    ΔV(θ, g, η) = V(θ − η g) − V(θ),

derived here symbolically (with a generic direction g = ``ms.g``); where it simplifies (V_w,
||μ̄ − μ*||²) the expanded form avoids the cancellation of subtracting two large numbers.
Candidates that are not expressions in (μ, w, μ*), such as R itself, are monitored from the
objective values instead (``rfisher.lyapunov``).

Users add a candidate with a function ``builder(ms) -> sympy.Expr`` (see README).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from derivations.symbols import MixtureSymbols, dot, sq_norm, sub


def weighted_distance(ms: MixtureSymbols) -> sp.Expr:
    """V_w(θ) = Σ_i w_i ||μ_i − μ*||²."""
    return sp.Add(*[ms.w[i] * sq_norm(sub(ms.mu[i], ms.target)) for i in range(ms.K)])


def unweighted_distance(ms: MixtureSymbols) -> sp.Expr:
    """U(θ) = Σ_i ||μ_i − μ*||² = ||θ − θ*||²: U never increases along the flow iff ⟨θ − θ*, ∇R⟩ ≥ 0."""
    return sp.Add(*[sq_norm(sub(ms.mu[i], ms.target)) for i in range(ms.K)])


#: The exponent of the weighted family V_α (a positive real symbol; α = 0 is U, α = 1 is V_w).
ALPHA = sp.Symbol("alpha", nonnegative=True)


def weighted_family(ms: MixtureSymbols, alpha=ALPHA) -> sp.Expr:
    """V_α(θ) = Σ_i w_i^α ||μ_i − μ*||², α ∈ [0, 1]."""
    return sp.Add(*[ms.w[i] ** alpha * sq_norm(sub(ms.mu[i], ms.target)) for i in range(ms.K)])


def gradient(ms: MixtureSymbols, V: sp.Expr) -> list[list[sp.Expr]]:
    """∇_μ V as K × d nested lists (``sympy.diff``)."""
    return [[sp.diff(V, ms.mu[i][a]) for a in range(ms.d)] for i in range(ms.K)]


def flow_derivative(ms: MixtureSymbols, V: sp.Expr) -> sp.Expr:
    """dV/dt along the gradient flow θ' = −g (g = ∇R at the point): −⟨∇V, g⟩."""
    grad = gradient(ms, V)
    return -sp.Add(*[grad[i][a] * ms.g[i][a] for i in range(ms.K) for a in range(ms.d)])


def max_distance(ms: MixtureSymbols) -> sp.Expr:
    """V_max(θ) = max_i ||μ_i − μ*||."""
    return sp.Max(*[sp.sqrt(sq_norm(sub(ms.mu[i], ms.target))) for i in range(ms.K)])


def mean_distance(ms: MixtureSymbols) -> sp.Expr:
    """V_bar(θ) = ||μ̄ − μ*||², μ̄ = Σ_i w_i μ_i."""
    bar = tuple(sp.Add(*[ms.w[i] * ms.mu[i][a] for i in range(ms.K)]) for a in range(ms.d))
    return sq_norm(sub(bar, ms.target))


def one_step_change(ms: MixtureSymbols, V: sp.Expr) -> sp.Expr:
    """ΔV = V(θ − η g) − V(θ), as the difference of the two values (exact; in floating point its
    error is ~ε|V|, which the GD runner's slack includes)."""
    step = {ms.mu[i][a]: ms.mu[i][a] - ms.eta * ms.g[i][a] for i in range(ms.K) for a in range(ms.d)}
    return sp.sympify(V).subs(step, simultaneous=True) - V


def mean_distance_change(ms: MixtureSymbols) -> sp.Expr:
    """Closed form: ΔV_bar = −η ⟨ḡ, 2(μ̄ − μ*) − η ḡ⟩ with ḡ = Σ_i w_i g_i (proved in the tests).

    Printed in this factored form because expanding it cancels catastrophically near μ̄ = μ*."""
    bar = tuple(sp.Add(*[ms.w[i] * ms.mu[i][a] for i in range(ms.K)]) for a in range(ms.d))
    gbar = tuple(sp.Add(*[ms.w[i] * ms.g[i][a] for i in range(ms.K)]) for a in range(ms.d))
    return -ms.eta * dot(gbar, tuple(2 * (b - t) - ms.eta * g for b, t, g in zip(bar, ms.target, gbar)))


def weighted_family_change(ms: MixtureSymbols, alpha=ALPHA) -> sp.Expr:
    """Closed form: ΔV_α = −2η Σ w_i^α ⟨μ_i − μ*, g_i⟩ + η² Σ w_i^α ||g_i||² (proved in the tests).

    Printed in this form because the difference V_α(θ − ηg) − V_α(θ) cancels catastrophically for
    small steps."""
    lin = sp.Add(*[ms.w[i] ** alpha * dot(sub(ms.mu[i], ms.target), ms.g[i]) for i in range(ms.K)])
    quad = sp.Add(*[ms.w[i] ** alpha * sq_norm(ms.g[i]) for i in range(ms.K)])
    return -2 * ms.eta * lin + ms.eta**2 * quad


def weighted_distance_change(ms: MixtureSymbols) -> sp.Expr:
    """Closed form: ΔV_w = −2η Σ w_i ⟨μ_i − μ*, g_i⟩ + η² Σ w_i ||g_i||² (V_α at α = 1)."""
    return weighted_family_change(ms, 1)


def unweighted_distance_change(ms: MixtureSymbols) -> sp.Expr:
    """Closed form: ΔU = −2η ⟨θ − θ*, g⟩ + η² ||g||² (V_α at α = 0)."""
    return weighted_family_change(ms, 0)


def weighted_family_critical_step(ms: MixtureSymbols, alpha=ALPHA) -> sp.Expr:
    """η* = 2 Σ w_i^α⟨μ_i − μ*, g_i⟩ / Σ w_i^α||g_i||²: ΔV_α < 0 exactly for 0 < η < η* (when η* > 0),
    the other root of the quadratic ``weighted_family_change``. For α = 0 (U) it is
    2⟨θ − θ*, g⟩/||g||², the step bound of docs/theory.md."""
    lin = sp.Add(*[ms.w[i] ** alpha * dot(sub(ms.mu[i], ms.target), ms.g[i]) for i in range(ms.K)])
    quad = sp.Add(*[ms.w[i] ** alpha * sq_norm(ms.g[i]) for i in range(ms.K)])
    return 2 * lin / quad


def weighted_distance_critical_step(ms: MixtureSymbols) -> sp.Expr:
    """η* for V_w (α = 1)."""
    return weighted_family_critical_step(ms, 1)


@dataclass(frozen=True)
class CandidateDerivation:
    """A named candidate: ``builder(ms)`` gives V; ``change(ms)``, if given, a closed form of
    its one-step change (otherwise ΔV is the difference ``one_step_change``). ``member_of`` =
    (family, parameter) marks a candidate that is a member of a family of ``FAMILIES``: it is
    printed once, as the family (the tests check that the two expressions agree)."""

    name: str
    builder: Callable[[MixtureSymbols], sp.Expr]
    description: str
    change: Callable[[MixtureSymbols], sp.Expr] | None = None
    member_of: tuple | None = None
    #: the verdicts its report row expects (docs/theory.md, "Lyapunov candidates"): REFUTED for a candidate
    #: with a certified counterexample (a PASS would be a loss of the falsifier's power)
    expected: tuple = ("PASS", "REFUTED")

    def one_step_change(self, ms: MixtureSymbols) -> sp.Expr:
        return self.change(ms) if self.change is not None else one_step_change(ms, self.builder(ms))


#: The built-in candidates that are expressions in (μ, w, μ*) (docs/theory.md, "Lyapunov candidates").
#: R itself is monitored from the objective's values.
BUILTIN = (
    CandidateDerivation("V_w", weighted_distance, "Σ_i w_i ||μ_i − μ*||²", weighted_distance_change, ("V_alpha", 1),
                        ("REFUTED",)),
    CandidateDerivation("V_max", max_distance, "max_i ||μ_i − μ*||", expected=("REFUTED",)),
    CandidateDerivation("V_bar", mean_distance, "||Σ_i w_i μ_i − μ*||²", mean_distance_change, expected=("REFUTED",)),
    CandidateDerivation("U", unweighted_distance, "Σ_i ||μ_i − μ*||²", unweighted_distance_change, ("V_alpha", 0),
                        ("PASS",)),
)


@dataclass(frozen=True)
class FamilyDerivation:
    """A family of candidates with one real parameter: ``builder(ms, parameter)`` gives V and
    ``change(ms, parameter)`` the closed form of its one-step change."""

    name: str
    builder: Callable
    parameter: sp.Symbol
    description: str
    change: Callable
    critical_step: Callable | None = None

    def one_step_change(self, ms: MixtureSymbols) -> sp.Expr:
        return self.change(ms, self.parameter)


#: Candidate families, by name.
FAMILIES = {
    "V_alpha": FamilyDerivation("V_alpha", weighted_family, ALPHA, "Σ_i w_i^α ||μ_i − μ*||²", weighted_family_change,
                                weighted_family_critical_step),
}
