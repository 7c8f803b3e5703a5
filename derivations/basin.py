"""The per-basin Lyapunov candidate for a mixture teacher (docs/theory.md, "Lyapunov candidates",
"Per-basin candidate (mixture teacher)").

Teacher p = Σ_j π_j N(ν_j, I); each student component i is assigned the teacher component j(i)
nearest to μ_i at the start of a run (fixed along the run). With t_i = ν_{j(i)} (symbols ``ms.nu[i]``
of ``MixtureSymbols(K, K, d)``: one assigned teacher mean per student component),

    V_basin(θ) = Σ_i ||μ_i − t_i||²,   ∇_{μ_i} V_basin = 2(μ_i − t_i),
    flow derivative along θ' = −g:  −⟨∇V, g⟩ = −2 Σ_i ⟨μ_i − t_i, g_i⟩,
    one GD step θ ↦ θ − ηg:  ΔV = Σ_i (−2η⟨μ_i − t_i, g_i⟩ + η²||g_i||²)  (expanded: no cancellation of
    two large values).
"""

from __future__ import annotations

import sympy as sp

from derivations.lyapunov import gradient
from derivations.symbols import MixtureSymbols, dot, sq_norm, sub


def basin_distance(ms: MixtureSymbols) -> sp.Expr:
    """V_basin = Σ_i ||μ_i − t_i||² with t_i = ``ms.nu[i]`` the assigned teacher mean."""
    return sp.Add(*[sq_norm(sub(ms.mu[i], ms.nu[i])) for i in range(ms.K)])


def basin_change(ms: MixtureSymbols) -> sp.Expr:
    """ΔV_basin(θ, g, η) = Σ_i (−2η⟨μ_i − t_i, g_i⟩ + η²||g_i||²), checked against V(θ − ηg) − V(θ)."""
    V = basin_distance(ms)
    dv = sp.Add(*[-2 * ms.eta * dot(sub(ms.mu[i], ms.nu[i]), ms.g[i]) + ms.eta**2 * sq_norm(ms.g[i]) for i in range(ms.K)])
    moved = V.xreplace({ms.mu[i][a]: ms.mu[i][a] - ms.eta * ms.g[i][a] for i in range(ms.K) for a in range(ms.d)})
    assert sp.expand(moved - V - dv) == 0
    return dv


def forms(K: int, d: int) -> dict:
    """V_basin, its gradient (K·d entries) and its one-step change, in ms.mu, ms.nu (assigned), ms.g, ms.eta."""
    ms = MixtureSymbols(K, K, d)
    V = basin_distance(ms)
    return {"symbols": ms, "value": V, "gradient": [c for row in gradient(ms, V) for c in row],
            "change": basin_change(ms)}
