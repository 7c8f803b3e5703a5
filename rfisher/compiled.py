"""Compiling the hand-written algorithms for one size: the one place where rfisher configures numba.

The algorithms (the line rule of ``rfisher.lines``, the quadrature driver of ``rfisher.quadrature``,
Monte Carlo in ``rfisher.montecarlo``, the GD loop of ``rfisher.descent``) are plain Python
functions, written once. They call the generated pointwise functions by global name
(``integrand``, ``student_logits``, …) and read the size as globals (``K``, ``J``, ``D``, ``P``).
``specialize`` copies such a function with those globals bound to one size and compiles it with
numba, which then optimises the whole kernel for that size (loops over components unrolled, the
loop over points vectorised).

Compiled code is cached on disk (numba's cache). A specialised kernel's cache entry is named after
the algorithm, the size, and a hash of the generated modules it calls and of every algorithm
module, so a change to any of them never reuses stale machine code (numba itself only watches the
file a function is defined in).

No fast-math: every result must be a function of its inputs alone, bit for bit, whatever batch it
sits in. With reassociation allowed, LLVM vectorises some reductions in some specialisations and
not others (seen in CI). The kernels are vectorised instead by their layout: loops over points
write separate rows, and sums go into eight lanes in a fixed order (``rfisher.lines``).
"""

from __future__ import annotations

import hashlib
import types
from functools import cache
from pathlib import Path

import numba

OPTIONS = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)

#: The shared helpers every compiled kernel may call (size-independent).
njit = numba.njit(**OPTIONS)

#: Algorithm modules whose text is part of every specialised kernel's cache key.
_ALGORITHMS = ("compiled.py", "lines.py", "planning.py", "reduction.py", "quadrature.py", "montecarlo.py",
               "pointwise.py", "descent.py", "descent_state.py")


@cache
def _algorithm_hash() -> str:
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _ALGORITHMS:
        path = here / name
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


def specialize(template, tag: str, bindings: dict):
    """Compile ``template`` with its globals updated by ``bindings``; ``tag`` names the specialisation
    in the cache (it must identify the bindings: size, objective and the hash of the generated code)."""
    namespace = dict(template.__globals__)
    namespace.update(bindings)
    fn = types.FunctionType(template.__code__, namespace, template.__name__, template.__defaults__,
                            template.__closure__)
    fn.__qualname__ = f"{template.__name__}__{tag}"
    fn.__module__ = template.__module__
    fn.__doc__ = template.__doc__
    return numba.njit(**OPTIONS)(fn)


@cache
def generated(module_name: str, function: str):
    """A generated function compiled as it is (it only needs its own file to be cached correctly)."""
    from rfisher import generated_modules

    loader = {"fisher": generated_modules.load_fisher, "logits": generated_modules.load_logits}
    kind, *size = module_name.split(":")
    module = loader[kind](*map(int, size))
    return numba.njit(**OPTIONS)(getattr(module, function))


def hash_of(*modules) -> str:
    """12 hex digits of a hash of the algorithms and of the given generated modules' text."""
    from rfisher import generated_modules

    h = hashlib.sha256(_algorithm_hash().encode())
    for module in modules:
        h.update(generated_modules.source_text(module).encode())
    return h.hexdigest()[:12]


@cache
def size_tag(K: int, J: int, d: int) -> str:
    """``k{K}_j{J}_d{d}_{hash}``: the size and a hash of the generated code and the algorithms."""
    from rfisher import generated_modules

    digest = hash_of(generated_modules.load_fisher(K, J, d), generated_modules.load_logits(K, d),
                     generated_modules.load_logits(J, d))
    return f"k{K}_j{J}_d{d}_{digest}"


def size_bindings(K: int, J: int, d: int, objective: str) -> dict:
    """The globals every specialised kernel of one size and objective sees."""
    from rfisher import generated_modules

    fisher = generated_modules.load_fisher(K, J, d)
    return {
        "K": K, "J": J, "D": d, "P": fisher.N_OUTPUTS, "REVERSE": objective == "reverse",
        "DEPTH": fisher.REVERSE_DEPTH if objective == "reverse" else fisher.FORWARD_DEPTH,
        "integrand": generated(f"fisher:{K}:{J}:{d}", f"{objective}_integrand"),
        "majorant": generated(f"fisher:{K}:{J}:{d}", f"{objective}_majorant"),
        "student_logits": generated(f"logits:{K}:{d}", "logits"),
        "student_slopes": generated(f"logits:{K}:{d}", "slopes"),
        "teacher_logits": generated(f"logits:{J}:{d}", "logits"),
        "teacher_slopes": generated(f"logits:{J}:{d}", "slopes"),
    }


# --- what a template sees before it is specialised ---------------------------------------------------


def unbound(*args):
    """Stands for a generated function in a template that was called without ``specialize``."""
    raise RuntimeError("a kernel template was called directly: compile it for a size with rfisher.compiled")


#: The size and the generated functions a template reads as globals. These module-level values are
#: placeholders (templates import them so that they read like ordinary code and lint); ``specialize``
#: replaces them by ``size_bindings``.
K = J = D = P = 0
REVERSE = False
DEPTH = 0
integrand = majorant = student_logits = student_slopes = teacher_logits = teacher_slopes = logits = unbound
