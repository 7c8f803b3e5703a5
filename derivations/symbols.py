"""Symbols for one concrete size: K student components, J teacher components, dimension d.

Every derivation is written for concrete small sizes, so that SymPy works with plain scalar
symbols (``mu_1_0`` is the 0-th coordinate of the student mean μ_1) and the printed code is
straight-line arithmetic. Nothing here holds global state: ``MixtureSymbols(K, J, d)`` builds
fresh, deterministic symbol tables each time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp


@dataclass(frozen=True)
class MixtureSymbols:
    """The symbols of a student q_θ = Σ_i w_i N(μ_i, I) and a teacher p = Σ_j π_j N(ν_j, I) in R^d.

    Attributes, all SymPy symbols (real):
      x[a]          the point x ∈ R^d
      mu[i][a]      student means μ_i
      w[i]          student weights w_i (positive)
      nu[j][a]      teacher means ν_j
      pi[j]         teacher weights π_j (positive)
      r[i]          student responsibilities r_i(x) treated as atoms (closed forms use them)
      rho[j]        teacher responsibilities ρ_j(x), likewise
      target[a]     μ* (the single-Gaussian teacher mean, used by Lyapunov candidates)
      g[i][a]       a generic gradient direction for the GD step θ ↦ θ − η g
      eta           the step size η (positive)
    """

    K: int
    J: int
    d: int
    x: tuple = field(init=False)
    mu: tuple = field(init=False)
    w: tuple = field(init=False)
    nu: tuple = field(init=False)
    pi: tuple = field(init=False)
    r: tuple = field(init=False)
    rho: tuple = field(init=False)
    target: tuple = field(init=False)
    g: tuple = field(init=False)
    eta: sp.Symbol = field(init=False)

    def __post_init__(self) -> None:
        K, J, d = self.K, self.J, self.d
        if min(K, J, d) < 1:
            raise ValueError(f"sizes must be positive, got K={K}, J={J}, d={d}")
        real = {"real": True}
        pos = {"positive": True}
        set_ = object.__setattr__
        set_(self, "x", tuple(sp.Symbol(f"x{a}", **real) for a in range(d)))
        set_(self, "mu", tuple(tuple(sp.Symbol(f"mu_{i}_{a}", **real) for a in range(d)) for i in range(K)))
        set_(self, "w", tuple(sp.Symbol(f"w_{i}", **pos) for i in range(K)))
        set_(self, "nu", tuple(tuple(sp.Symbol(f"nu_{j}_{a}", **real) for a in range(d)) for j in range(J)))
        set_(self, "pi", tuple(sp.Symbol(f"pi_{j}", **pos) for j in range(J)))
        set_(self, "r", tuple(sp.Symbol(f"r_{i}", **pos) for i in range(K)))
        set_(self, "rho", tuple(sp.Symbol(f"rho_{j}", **pos) for j in range(J)))
        set_(self, "target", tuple(sp.Symbol(f"target_{a}", **real) for a in range(d)))
        set_(self, "g", tuple(tuple(sp.Symbol(f"g_{i}_{a}", **real) for a in range(d)) for i in range(K)))
        set_(self, "eta", sp.Symbol("eta", **pos))

    @property
    def size(self) -> tuple[int, int, int]:
        return (self.K, self.J, self.d)


def sq_norm(v) -> sp.Expr:
    """||v||² for a tuple of SymPy expressions."""
    return sp.Add(*[c**2 for c in v])


def dot(u, v) -> sp.Expr:
    """⟨u, v⟩ for tuples of SymPy expressions."""
    return sp.Add(*[a * b for a, b in zip(u, v, strict=True)])


def sub(u, v) -> tuple:
    """u − v, coordinatewise."""
    return tuple(a - b for a, b in zip(u, v, strict=True))
