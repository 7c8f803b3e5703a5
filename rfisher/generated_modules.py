"""Finding a generated module, generating it on demand when it is not shipped.

Shipped sizes live in ``rfisher/generated/`` (``rfisher.generated.SIZES``). Any other size is printed
by ``derivations.codegen`` into a cache folder (``$RFISHER_CACHE`` or ``~/.cache/rfisher``), in a
subfolder named by the SymPy version and a hash of the derivation sources, so that a changed
derivation never reuses a stale file. Generation is deterministic: the cached file is the file
``rfisher codegen --components K --teacher J --dim d --out DIR`` would write.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import threading
from functools import cache
from pathlib import Path

_lock = threading.Lock()
_DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"


def shipped_sizes() -> tuple:
    from rfisher import generated

    return generated.SIZES


def derivation_hash() -> str:
    """sha256 of every source file in derivations/ (names the on-demand cache folder)."""
    h = hashlib.sha256()
    for path in sorted(_DERIVATIONS.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_dir() -> Path:
    import sympy

    root = Path(os.environ.get("RFISHER_CACHE", Path.home() / ".cache" / "rfisher"))
    return root / f"generated-sympy{sympy.__version__}-{derivation_hash()[:16]}"


def _shipped(name: str) -> bool:
    return (Path(__file__).resolve().parent / "generated" / f"{name}.py").exists()


def _load(name: str, make_text):
    if _shipped(name):
        return importlib.import_module(f"rfisher.generated.{name}")
    with _lock:
        folder = cache_dir()
        path = folder / f"{name}.py"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(make_text())
            os.replace(tmp, path)
        mod_name = f"rfisher_generated_cache.{name}"
        if mod_name in sys.modules:
            return sys.modules[mod_name]
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
        return module


@cache
def load_fisher(K: int, J: int, d: int):
    """The module with ``forward_integrand`` and ``reverse_integrand`` for (K, J, d)."""
    from derivations import codegen

    return _load(codegen.fisher_module_name(K, J, d), lambda: codegen.fisher_module(K, J, d))


@cache
def load_logits(n: int, d: int):
    """The module with ``logits`` and ``slopes`` for n components in R^d."""
    from derivations import codegen

    return _load(codegen.logits_module_name(n, d), lambda: codegen.logits_module(n, d))


@cache
def load_lyapunov(K: int, d: int):
    """The module with the built-in Lyapunov candidates and their gradients and one-step changes."""
    from derivations import codegen

    return _load(codegen.lyapunov_module_name(K, d), lambda: codegen.lyapunov_module(K, d))


def source_text(module) -> str:
    """The text of a generated module (for the hash that names its compiled kernels)."""
    return Path(module.__file__).read_text()


def cache_clear() -> None:
    for fn in (load_fisher, load_logits, load_lyapunov):
        fn.cache_clear()
