"""The one place where rfisher configures numba.

Kernels are compiled on first call and cached on disk (``cache=True``). No fast-math flags:
with reassociation allowed, LLVM vectorizes reductions in some specializations (array layout,
alignment, runtime alias checks) and not in others, so the same parameter set could give results
differing in the last bit depending on the batch it sits in (this was seen in CI). Strict IEEE
order makes every result a function of its inputs alone: same seed, same bits, any batch. It
costs about 15% in d = 1 and a factor 3 in d = 2 (benchmarks/bench_descent.py).
"""

from __future__ import annotations

import numba

FASTMATH = frozenset()

njit = numba.njit(cache=True, fastmath=set(FASTMATH), error_model="numpy", nogil=True)
