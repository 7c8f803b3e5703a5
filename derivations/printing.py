"""Printing SymPy expressions as straight-line Python (numpy arrays or numba scalars)."""

from __future__ import annotations

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter


class _Printer(PythonCodePrinter):
    """Plain-arithmetic printer; ``log`` goes to the given module (``np``, ``math``, or ``B``: the
    ball-arithmetic namespace of ``rfisher.certified``, where rationals are printed exactly)."""

    def __init__(self, module: str):
        super().__init__({"fully_qualified_modules": False, "standard": "python3"})
        self._module = module

    def _print_log(self, expr):
        return f"{self._module}.log({self._print(expr.args[0])})"

    def _print_sign(self, expr):
        if self._module == "np":
            return f"np.sign({self._print(expr.args[0])})"
        a = self._print(expr.args[0])
        if self._module == "B":  # balls: [−1, 1] where the sign is not decided
            return f"B.sign({a})"
        return f"((1) if ({a} > 0) else (-1) if ({a} < 0) else (0))"

    def _print_Heaviside(self, expr):
        # H(0) = 1/2: the derivative of a maximum at a tie is the average of the two one-sided ones
        if self._module == "np":
            return f"np.heaviside({self._print(expr.args[0])}, 0.5)"
        a = self._print(expr.args[0])
        if self._module == "B":  # balls: [0, 1] where the sign is not decided
            return f"B.heaviside({a})"
        return f"((0) if ({a} < 0) else ({self._print(sp.Rational(1, 2))}) if ({a} == 0) else (1))"

    def _print_Max(self, expr):
        return self._nested("maximum", expr.args)

    def _print_Min(self, expr):
        return self._nested("minimum", expr.args)

    def _nested(self, fn, args):
        if self._module != "np":
            prefix = "B." if self._module == "B" else ""  # balls need the namespace's max/min
            return f"{prefix}{fn[:3]}({', '.join(self._print(a) for a in args)})"
        out = self._print(args[0])
        for a in args[1:]:
            out = f"np.{fn}({out}, {self._print(a)})"
        return out

    def _print_Rational(self, expr):
        # "1/2" would be a float; in ball arithmetic (module "B") a rational must stay exact
        if self._module == "B":
            return f"B.q({expr.p}, {expr.q})"
        return super()._print_Rational(expr)

    def _print_Mul(self, expr):
        # x**-2 factors: the Pow printer writes x**2 as x*x, which after SymPy's "/" would read a/x*x
        inv_sq = [f for f in expr.args if isinstance(f, sp.Pow) and f.exp == -2]
        if not inv_sq:
            return super()._print_Mul(expr)
        rest = sp.Mul(*[f for f in expr.args if f not in inv_sq])
        den = self._print(sp.Mul(*[sp.Pow(f.base, 2, evaluate=False) for f in inv_sq], evaluate=False))
        return f"{self.parenthesize(rest, sp.printing.precedence.PRECEDENCE['Mul'])}/({den})"

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp == sp.Rational(1, 2):
            return f"{self._module}.sqrt({self._print(base)})"
        if exp == -sp.Rational(1, 2):
            return f"1/{self._module}.sqrt({self._print(base)})"
        if exp == 2:  # x*x is exact and as fast as anything; avoids pow() in numba and numpy
            b = self.parenthesize(base, sp.printing.precedence.PRECEDENCE["Mul"] + 1)
            return f"{b}*{b}"
        return super()._print_Pow(expr, rational=rational)


def print_expr(expr: sp.Expr, module: str = "np") -> str:
    return _Printer(module).doprint(sp.sympify(expr))


def print_block(outputs: list[sp.Expr], names: list[str], module: str, tmp_prefix: str = "t") -> list[str]:
    """Lines ``tmp = ...`` (common subexpressions) then ``name = ...`` for each output."""
    replacements, reduced = sp.cse(
        [sp.sympify(o) for o in outputs], symbols=sp.numbered_symbols(tmp_prefix), optimizations="basic"
    )
    lines = [f"{s} = {print_expr(e, module)}" for s, e in replacements]
    lines += [f"{n} = {print_expr(e, module)}" for n, e in zip(names, reduced, strict=True)]
    return lines
