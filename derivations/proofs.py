"""Exact equality checks between definitions (with exponentials) and closed forms (with r, ρ).

Method. Every definition is a rational function of x, the means, the weights and the Gaussian
kernels E_i = exp(−||x − μ_i||²/2), T_j = exp(−||x − ν_j||²/2), because differentiating
exp(−||x − c||²/2) gives a polynomial times the same exponential. Replacing each kernel by a
fresh positive symbol turns the definition into a rational function; the closed forms become one
by substituting r_i = w_i E_i / Σ_k w_k E_k and ρ_j = π_j T_j / Σ_l π_l T_l. Two rational
functions are equal iff ``cancel`` of their difference is 0. Treating the E_i as independent
symbols is stronger than needed (they are not independent functions), so a zero here is a proof.
"""

from __future__ import annotations

import sympy as sp

from derivations import scores
from derivations.symbols import MixtureSymbols


def kernel_symbols(ms: MixtureSymbols) -> tuple[tuple, tuple]:
    """Fresh positive symbols E_i (student kernels) and T_j (teacher kernels)."""
    E = tuple(sp.Symbol(f"E_{i}", positive=True) for i in range(ms.K))
    T = tuple(sp.Symbol(f"T_{j}", positive=True) for j in range(ms.J))
    return E, T


def _kernel_replacements(expr: sp.Expr, ms: MixtureSymbols) -> dict:
    E, T = kernel_symbols(ms)
    known = [(sp.expand(scores.gaussian_kernel(ms.x, c).args[0]), s) for c, s in zip(ms.mu, E)]
    known += [(sp.expand(scores.gaussian_kernel(ms.x, c).args[0]), s) for c, s in zip(ms.nu, T)]
    out = {}
    for atom in expr.atoms(sp.exp):
        arg = sp.expand(atom.args[0])
        for karg, sym in known:
            # exp(k·a) for an integer k also appears (e.g. from squares): match arg = k·karg.
            ratio = sp.simplify(arg / karg)
            if ratio.is_integer:
                out[atom] = sym**ratio
                break
        else:
            raise ValueError(f"unrecognized exponential {atom} in a definition")
    return out


def definition_as_rational(expr: sp.Expr, ms: MixtureSymbols) -> sp.Expr:
    """Replace the Gaussian kernels of ``expr`` by the symbols E_i, T_j."""
    return expr.xreplace(_kernel_replacements(expr, ms))


def closed_form_as_rational(expr: sp.Expr, ms: MixtureSymbols) -> sp.Expr:
    """Substitute r_i = w_i E_i / Σ w_k E_k and ρ_j = π_j T_j / Σ π_l T_l into a closed form."""
    E, T = kernel_symbols(ms)
    zq = sp.Add(*[w * e for w, e in zip(ms.w, E)])
    zp = sp.Add(*[p * t for p, t in zip(ms.pi, T)])
    subs = {r: w * e / zq for r, w, e in zip(ms.r, ms.w, E)}
    subs.update({rho: p * t / zp for rho, p, t in zip(ms.rho, ms.pi, T)})
    return sp.sympify(expr).xreplace(subs)


def equal_exactly(definition: sp.Expr, closed_form: sp.Expr, ms: MixtureSymbols) -> bool:
    """True iff the definition and the closed form are the same rational function (see above)."""
    diff = definition_as_rational(sp.sympify(definition), ms) - closed_form_as_rational(closed_form, ms)
    return sp.cancel(sp.together(diff)) == 0


def responsibilities_sum_to_one(expr: sp.Expr, ms: MixtureSymbols) -> sp.Expr:
    """Eliminate the last responsibility with Σ_i r_i = 1 and Σ_j ρ_j = 1 (pointwise identities)."""
    subs = {ms.r[-1]: 1 - sp.Add(*ms.r[:-1]), ms.rho[-1]: 1 - sp.Add(*ms.rho[:-1])}
    return sp.expand(sp.sympify(expr).xreplace(subs))
