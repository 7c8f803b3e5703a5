"""The one place where rfisher configures numba: the compiled algorithms and the generated functions.

The algorithms (the line rule of ``rfisher.lines``, the quadrature of ``rfisher.quadrature``, Monte
Carlo, the GD loop of ``rfisher.descent``) are ordinary numba functions, written once and compiled
once for every size: they take the generated pointwise functions of the size at hand as first-class
function arguments (a ``Generated`` bundle of numba cfuncs) and read the sizes off their arrays. Only
the generated functions are compiled per size, each on its own, in well under a second; the
algorithms are compiled the first time they run on a machine and then loaded from the cache. (An
earlier design specialised the whole algorithm per size: every size then re-optimised the whole call
tree, about 25 s per size and objective.) The generated functions are called once per chunk of points,
so the indirect call costs nothing measurable.

Compiled code is cached on disk (numba's cache) in a folder named by a hash of every algorithm module
and of numba's version: numba only watches the file a function is defined in, and a change to a module
a function calls would otherwise reuse stale machine code. ``$NUMBA_CACHE_DIR``, if set, is the root of
that folder instead of ``~/.cache/rfisher`` (numba's own use of it would keep a caller whose inlined
callee in another module has changed: measured, a 12% slower GD loop from the machine code of an older
``rfisher.quadrature``, and in general a stale result).

No fast-math: every result must be a function of its inputs alone, bit for bit, whatever batch it sits
in. With reassociation allowed, LLVM vectorises some reductions in some compilations and not others
(seen in CI). The kernels are vectorised instead by their layout: loops over points write one row at a
time, and sums go into lanes in a fixed order (``rfisher.lines``).
"""

from __future__ import annotations

import hashlib
import os
from collections import namedtuple
from functools import cache
from pathlib import Path

import llvmlite.binding as llvm
import llvmlite.ir as llvmlite_ir
import numba
from numba import types
from numba.core import cgutils
from numba.core.typing.typeof import _typeof_tuple, typeof_impl
from numba.extending import intrinsic

OPTIONS = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)

#: LLVM vectorises a loop over points only if it may check at run time that its arrays do not overlap,
#: and by default it allows 8 such checks: the generated integrands read and write one row per input and
#: output (20 rows for K = 4, d = 3), so beyond the smallest sizes they ran scalar, about 4× slower.
#: More checks change no result (the vector loop does the same operations, in the same order, as the
#: scalar one); they are LLVM's global options, set once, when this module is first imported.
LLVM_OPTIONS = ("-runtime-memory-check-threshold=512", "-vectorize-memory-check-threshold=512",
                "-vectorize-scev-check-threshold=512", "-pragma-vectorize-memory-check-threshold=512")
for _option in LLVM_OPTIONS:
    llvm.set_option("", _option)

#: Algorithm modules whose text names the cache folder.
_ALGORITHMS = ("compiled.py", "lines.py", "planning.py", "reduction.py", "quadrature.py", "montecarlo.py",
               "pointwise.py", "descent.py", "descent_state.py")


@cache
def cache_folder() -> str:
    """<root>/numba-<hash of the algorithms and numba's version>; root: $NUMBA_CACHE_DIR if set, else
    $RFISHER_CACHE, else ~/.cache/rfisher."""
    h = hashlib.sha256(numba.__version__.encode())
    here = Path(__file__).resolve().parent
    for name in _ALGORITHMS:
        path = here / name
        if path.exists():
            h.update(path.read_bytes())
    root = os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("RFISHER_CACHE") or Path.home() / ".cache" / "rfisher"
    return str(Path(root) / f"numba-{h.hexdigest()[:16]}")


def _in_our_cache(make):
    """Run a numba decorator with the cache folder pointed at ``cache_folder`` (numba reads it when a
    function is decorated), then restore it for everyone else's functions."""
    folder = cache_folder()
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = folder
    try:
        return make()
    finally:
        numba.config.CACHE_DIR = saved


def njit(fn):
    """Compile an algorithm (once for every size), cached in ``cache_folder``."""
    return _in_our_cache(lambda: numba.njit(**OPTIONS)(fn))


@intrinsic
def unowned(typingctx, array):
    """A view of ``array`` that numba does not count references to (its meminfo is null).

    Numba counts references to every array with atomic operations, at every compiled call that passes
    one and at every read of an array out of a tuple; in the quadrature's inner calls that was about a
    third of the time. Scratch and per-parameter-set views are therefore taken unowned, carved out of a
    buffer whose owner (an ordinary array) is kept alive beside them, in the same tuple or in the caller:
    the view is valid exactly as long as that owner lives."""

    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, value=args[0])
        dst = context.make_array(sig.return_type)(context, builder)
        for name in ("nitems", "itemsize", "data", "shape", "strides"):
            setattr(dst, name, getattr(src, name))
        dst.meminfo = cgutils.get_null_value(dst.meminfo.type)
        dst.parent = cgutils.get_null_value(dst.parent.type)
        return dst._getvalue()

    return array(array), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """a·b + c rounded once (IEEE fused multiply-add, ``llvm.fma``): exactly rounded, so the same bits on
    every machine, and half the operations of a product and a sum in a polynomial."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        f = builder.module.declare_intrinsic("llvm.fma", [llvmlite_ir.DoubleType()] * 3)
        return builder.call(f, args)

    return sig, codegen


@numba.njit(cache=True)
def hold(owners):
    """Use ``owners`` here: numba frees an array after its last use, so a function that works on unowned
    views calls this at its end to keep their owners alive until then."""
    return len(owners)


# --- the generated functions of one size -------------------------------------------------------------

_f8_1 = types.float64[::1]
_f8_2 = types.float64[:, ::1]
#: logits(n, x (d, n), centers (m, d), weights (m,), out (m, n))
LOGITS = types.void(types.int64, _f8_2, _f8_2, _f8_1, _f8_2)
#: slopes(x (d,), u (d,), centers (m, d), out (m,))
SLOPES = types.void(_f8_1, _f8_1, _f8_2, _f8_1)
#: integrand(n, x (d, n), means (K, d), teacher_means (J, d), r (K, n), rho (J, n), out (P, n)), and majorant
INTEGRAND = types.void(types.int64, _f8_2, _f8_2, _f8_2, _f8_2, _f8_2, _f8_2)

#: The generated functions one size and objective needs, as numba cfuncs (first-class functions).
Generated = namedtuple("Generated", "integrand majorant student_logits student_slopes teacher_logits teacher_slopes")
_GENERATED_TYPES: dict = {}


@typeof_impl.register(Generated)
def _typeof_generated(val, c):
    """Numba's type of a Generated bundle, the default tuple typing's result kept per bundle of
    functions: typing six first-class functions afresh costs ~50 µs at every compiled call that takes
    the bundle, a fixed cost of every GD run. Keyed by the functions' identities (the entry holds them,
    so an id is not reused while its entry lives); the functions are ``cfunc``'s, cached for good."""
    key = tuple(map(id, val))
    entry = _GENERATED_TYPES.get(key)
    if entry is None:
        entry = _GENERATED_TYPES[key] = (tuple(val), _typeof_tuple(val, c))
    return entry[1]


@cache
def cfunc(module_key: str, function: str):
    """A generated function compiled as a cfunc with its signature (cached by its own file)."""
    from rfisher import generated_modules

    kind, *size = module_key.split(":")
    if kind == "fisher":
        module, sig = generated_modules.load_fisher(*map(int, size)), INTEGRAND
    else:
        module = generated_modules.load_logits(*map(int, size))
        sig = LOGITS if function == "logits" else SLOPES
    return _in_our_cache(lambda: numba.cfunc(sig, **{k: v for k, v in OPTIONS.items() if k != "nogil"})(
        getattr(module, function)))


@cache
def generated(K: int, J: int, d: int, objective: str) -> tuple:
    """(Generated bundle, evaluation depth) for student K, teacher J, dimension d and an objective."""
    from rfisher import generated_modules

    fisher = generated_modules.load_fisher(K, J, d)
    fns = Generated(cfunc(f"fisher:{K}:{J}:{d}", f"{objective}_integrand"), cfunc(f"fisher:{K}:{J}:{d}", f"{objective}_majorant"),
                    cfunc(f"logits:{K}:{d}", "logits"), cfunc(f"logits:{K}:{d}", "slopes"),
                    cfunc(f"logits:{J}:{d}", "logits"), cfunc(f"logits:{J}:{d}", "slopes"))
    depth = fisher.REVERSE_DEPTH if objective == "reverse" else fisher.FORWARD_DEPTH
    return fns, float(depth)
