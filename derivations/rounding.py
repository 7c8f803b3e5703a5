"""Majorants: what bounds the rounding error of evaluating an expression in floating point.

An integrand such as ||e||² with e = Σ_i r_i μ_i − Σ_j ρ_j ν_j can be exactly 0 (student = teacher)
while its terms are not: its computed value is then pure rounding, of the size of the terms, not
of the result. The classical bound (Higham, *Accuracy and Stability of Numerical Algorithms*,
§3.1) for an expression built from +, − and × is

    |fl(f) − f| ≤ γ_k · maj(f),      γ_k = k u / (1 − k u),   u = 2⁻⁵³,

where k is the depth of the evaluation (the longest chain of operations from an input to the
result) and the majorant maj(f) is f with every coefficient and every input replaced by its
absolute value and every subtraction by an addition:

    maj(a + b) = maj(a) + maj(b),   maj(a·b) = maj(a)·maj(b),   maj(aⁿ) = maj(a)ⁿ (n ∈ ℕ),
    maj(c) = |c| for a number, maj(s) = |s| for a symbol (s itself when s is positive).

``majorant`` builds maj(f) as a SymPy expression, so the code generator prints it next to the
integrand, and ``depth`` measures k on the expression as printed (after common-subexpression
elimination, which can only shorten chains). The quadrature adds Σ w·maj(f) over the nodes into
its rounding term (``rfisher.quadrature``; ``docs/theory.md``, "Error bounds").
"""

from __future__ import annotations

import sympy as sp


def majorant(expr: sp.Expr) -> sp.Expr:
    """maj(expr) (module docstring). Raises ``ValueError`` on anything but +, ×, integer powers."""
    expr = sp.sympify(expr)
    if expr.is_Number:
        return abs(expr)
    if expr.is_Symbol:
        return expr if expr.is_positive else sp.Abs(expr)
    if expr.is_Add:
        return sp.Add(*[majorant(a) for a in expr.args])
    if expr.is_Mul:
        return sp.Mul(*[majorant(a) for a in expr.args])
    if expr.is_Pow and expr.exp.is_Integer and expr.exp >= 0:
        return majorant(expr.base) ** expr.exp
    raise ValueError(f"no majorant for {type(expr).__name__}: {expr}")


def depth(expr: sp.Expr, known: dict | None = None) -> int:
    """A bound on the number of floating-point operations on the longest path of ``expr``'s tree:
    an n-term sum or product adds n − 1 (in any order of evaluation), x² one, xⁿ at most n − 1.
    ``known``: depths of symbols that stand for subexpressions (``cse_depth``)."""
    expr = sp.sympify(expr)
    if known and expr in known:
        return known[expr]
    if expr.is_Atom:
        return 0
    if expr.is_Add or expr.is_Mul:
        # n − 1 operations, whatever order the printer chooses: a safe bound for every argument
        return max(depth(a, known) for a in expr.args) + len(expr.args) - 1
    if expr.is_Pow and expr.exp.is_Integer:
        return depth(expr.base, known) + max(int(expr.exp) - 1, 1)
    return max(depth(a, known) for a in expr.args) + 1


def cse_depth(replacements, reduced) -> int:
    """``depth`` through the temporaries of ``sympy.cse``: a temporary used in an expression adds
    its own depth."""
    known: dict = {}
    for sym, e in replacements:
        known[sym] = depth(e, known)
    return max((depth(e, known) for e in reduced), default=0)
