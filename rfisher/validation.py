"""The one validation layer at the public boundary: every argument's type, range and shape.

Each checker takes the value and the argument's name, returns the value in its canonical form
(a Python float or int, a float64 array, a ``Path``) and raises ``InvalidArgument`` (a
``ValueError``) or ``InvalidArgumentType`` (a ``TypeError``, and also an ``InvalidArgument``, like
numpy's ``AxisError`` is both) whose message names the argument and the bad value. Real numbers
are real numbers: strings ('1e-12'), bools and complex numbers are refused, not converted;
integers are integers (3.0 is refused where a count is meant).

The ranges below are stated once, here, with their reasons (docs/theory.md, "Work limits"):

* ``RTOL_MIN`` = 1e−15, the smallest relative tolerance accepted. float64 has 53 bits, ε = 2.2e−16;
  the rounding of one addition alone is ε/2 of its result, and the rounding term of the quadrature's
  own error estimate is at least 16ε ≈ 3.6e−15 of Σ|w f| (``rfisher.quadrature``: WEIGHT_ULPS plus the
  pairwise sums). A tolerance below 1e−15 ≈ 4.5ε asks for digits float64 does not carry: it could only
  end, after the full work limit, in ``converged=False``; it is refused up front instead. Tolerances
  from 1e−15 up to the rounding bound are accepted and are met with the help of ``atol`` or flagged.
* ``MAX_DISTANCE`` = 1e50, the largest span of the means (student and teacher) of one parameter set
  that the float rules accept (the diagonal of their bounding box, ≥ the largest distance between two
  means). The integrands are polynomials of degree 3 in the
  distances (the gradient of R: e times the score times x − μ), the planning of the quadrature scales
  its tolerance by 4π(1 + D)³, and the Monte Carlo variance squares the integrand (degree 6):
  (1e50)⁶ = 1e300 stays below float64's largest number 1.8e308, while beyond it these overflow to inf
  or NaN (measured: Monte Carlo at D = 1e99 returns an infinite standard error, the quadrature at
  1e100 only flagged results). Within the range every result is finite with a bound, or flagged
  ``converged=False``; beyond it the call raises, naming the span and this limit.
* ``PREC_MIN`` = 53 and ``PREC_MAX`` = 4096 bits for the ball arithmetic of ``rfisher.certified``:
  its inputs are float64 numbers (53-bit significands), and its integration window is sized for a
  tail of 2^−prec; the cost of ``acb.integral`` grows with the precision, and 4096 bits is far beyond
  any float64 check (the project uses 53 and 128 bits).
* ``MAX_SAMPLES`` = 2^28 Monte Carlo samples at most: the draws are held in memory, (samples/2) × d
  float64 numbers, 1 GiB per dimension at the limit.
* ``MAX_RECORDS`` = 10^7 recorded rows of a GD run (max_steps // record_every): each row holds the
  objective, its error and the gradient norm of every trajectory (and the means, if recorded).
* ``MAX_REFINE`` = 64 refinement passes of the quadrature at most: every pass uses at most
  ``max_nodes`` nodes (``rfisher.quadrature.MAX_NODES`` by default) and the steps shrink by 0.7 a
  pass, so the node count grows geometrically and reaches the work limit within ~50 passes anyway.
  With the rtol floor this bounds every quadrature call: at most (max_refine + 1) passes of at most
  max_nodes nodes; at the defaults (4 and 5·10⁷) a pass at the limit took 4–9 s for K = 4, J = 2,
  d = 3 on one core (measured), so a call up to that size ends within about a minute (5 × 9 s).
"""

from __future__ import annotations

import argparse
import math
import numbers
import os
from pathlib import Path

import numpy as np

RTOL_MIN = 1e-15
MAX_DISTANCE = 1e50
PREC_MIN, PREC_MAX = 53, 4096
MAX_REFINE = 64
MAX_SAMPLES = 2**28
MAX_RECORDS = 10**7


class InvalidArgument(ValueError):
    """A public function or the command line got an argument it cannot use; the message names it."""


class InvalidArgumentType(InvalidArgument, TypeError):
    """An argument of the wrong type (a string, a bool or a complex number where a real is meant, …)."""


def show(value) -> str:
    """A short repr of a bad value, with its type when that is the problem."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return text


def _kind(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "a bool"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, complex | np.complexfloating):
        return "a complex number"
    tname = type(value).__name__
    return f"{'an' if tname[:1].lower() in 'aeiou' else 'a'} {tname}"


def _subject(name: str) -> str:
    return f"{name} " if name else ""


def _lead(name: str) -> str:
    return f"{name}: " if name else ""


# --- numbers ------------------------------------------------------------------------------------


def real(value, name: str, *, allow_nan: bool = False, allow_inf: bool = False) -> float:
    """A real number as a float: ints, floats, numpy reals and ``numbers.Real`` (not bool)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real | np.integer | np.floating):
        raise InvalidArgumentType(f"{_subject(name)}must be a real number, got {_kind(value)} {show(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise InvalidArgument(f"{_subject(name)}is too large for a float64 number, got {show(value)}") from None
    if math.isnan(x) and not allow_nan:
        raise InvalidArgument(f"{_subject(name)}must be a number, got nan")
    if math.isinf(x) and not allow_inf:
        raise InvalidArgument(f"{_subject(name)}must be finite, got {x!r}")
    return x


def finite(value, name: str) -> float:
    """A finite real number."""
    return real(value, name)


def positive(value, name: str, *, allow_inf: bool = False) -> float:
    """A real number > 0 (finite unless ``allow_inf``)."""
    x = real(value, name, allow_inf=allow_inf)
    if not x > 0:
        raise InvalidArgument(f"{_subject(name)}must be positive, got {x!r}")
    return x


def nonnegative(value, name: str) -> float:
    """A finite real number ≥ 0."""
    x = real(value, name)
    if not x >= 0:
        raise InvalidArgument(f"{_subject(name)}must be ≥ 0, got {x!r}")
    return x


def at_least(value, name: str, lower: float, *, allow_inf: bool = False, why: str = "") -> float:
    """A real number ≥ ``lower``."""
    x = real(value, name, allow_inf=allow_inf)
    if not x >= lower:
        raise InvalidArgument(f"{_subject(name)}must be ≥ {lower:g}{why}, got {x!r}")
    return x


def interval(value, name: str, lower: float, upper: float, *, closed_upper: bool = False, why: str = "") -> float:
    """A real number in [lower, upper) (or [lower, upper] with ``closed_upper``)."""
    x = real(value, name)
    ok = lower <= x <= upper if closed_upper else lower <= x < upper
    if not ok:
        bracket = "]" if closed_upper else ")"
        raise InvalidArgument(f"{_subject(name)}must be in [{lower:g}, {upper:g}{bracket}{why}, got {x!r}")
    return x


def open_unit(value, name: str) -> float:
    """A real number in (0, 1) (a confidence level, a success threshold)."""
    x = real(value, name)
    if not 0.0 < x < 1.0:
        raise InvalidArgument(f"{_subject(name)}must be in (0, 1), got {x!r}")
    return x


def probability(value, name: str) -> float:
    """A real number in [0, 1]."""
    return interval(value, name, 0.0, 1.0, closed_upper=True)


def rtol(value, name: str = "rtol") -> float:
    """A relative tolerance in [RTOL_MIN, 1) (module docstring: the floor's reason)."""
    return interval(value, name, RTOL_MIN, 1.0,
                    why=" (float64, with ε = 2.2e-16, cannot resolve a smaller relative error; see rfisher.validation)")


def atol(value, name: str = "atol") -> float:
    """An absolute tolerance: finite and ≥ 0."""
    return nonnegative(value, name)


def integer(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (Python or numpy; not bool, not a float such as 3.0) within [minimum, maximum]."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral | np.integer):
        raise InvalidArgumentType(f"{_subject(name)}must be an integer, got {_kind(value)} {show(value)}")
    n = int(value)
    if minimum is not None and n < minimum:
        raise InvalidArgument(f"{_subject(name)}must be an integer ≥ {minimum}, got {n}")
    if maximum is not None and n > maximum:
        raise InvalidArgument(f"{_subject(name)}must be an integer ≤ {maximum}, got {n}")
    return n


def seed(value, name: str = "seed") -> int:
    """A random seed: any non-negative integer (numpy's ``default_rng`` takes integers of any size)."""
    return integer(value, name, minimum=0)


def choice(value, name: str, options) -> str:
    """One of ``options`` (compared with ==, after checking the type)."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise InvalidArgument(f"{_subject(name)}must be one of {', '.join(map(repr, options))}, got {show(value)}")
    return value


def flag(value, name: str) -> bool:
    """A bool (True/False, numpy bools included)."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidArgumentType(f"{_subject(name)}must be True or False, got {_kind(value)} {show(value)}")
    return bool(value)


def optional(check, value, name: str, *args, **kwargs):
    """None, or ``check(value, name, …)``."""
    return None if value is None else check(value, name, *args, **kwargs)


# --- arrays -------------------------------------------------------------------------------------


def _index(arr: np.ndarray, flat: int) -> list[int]:
    return [int(i) for i in np.unravel_index(flat, arr.shape)] if arr.ndim else []


def real_array(value, name: str, *, ndim: int | None = None, shape: tuple | None = None,
               finite: bool = True) -> np.ndarray:
    """A new float64 array of real numbers: strings, bools, complex numbers and other objects are
    refused (naming the first bad entry), as are ragged nestings; ``shape`` entries may be None
    (any size); non-finite entries are refused unless ``finite`` is False."""
    if isinstance(value, str | bytes):
        raise InvalidArgumentType(f"{name} must be an array of real numbers, got a string {show(value)}")
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError):
        raise InvalidArgument(f"{name} must be a rectangular array of real numbers (rows of equal length), "
                              f"got {show(value)}") from None
    kind = raw.dtype.kind
    if kind in "iuf":
        with np.errstate(over="ignore"):
            arr = raw.astype(np.float64, copy=True)
    elif kind == "O":
        flat = raw.ravel()
        for i, v in enumerate(flat):
            if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real | np.integer | np.floating):
                raise InvalidArgumentType(f"{name} must hold real numbers; {name}{_index(raw, i)} is "
                                          f"{_kind(v)} {show(v)}")
        arr = np.empty(raw.shape, dtype=np.float64)
        for i, v in enumerate(flat):
            try:
                arr.flat[i] = float(v)
            except OverflowError:
                raise InvalidArgument(f"{name}{_index(raw, i)} is too large for a float64 number: {show(v)}") from None
    else:
        what = {"b": "bools", "c": "complex numbers", "U": "strings", "S": "bytes"}.get(kind, f"{raw.dtype} values")
        example = raw.ravel()[0] if raw.size else None
        raise InvalidArgumentType(f"{name} must hold real numbers, got {what}"
                                  + (f" (e.g. {show(example.item() if hasattr(example, 'item') else example)})"
                                     if raw.size else ""))
    if ndim is not None and arr.ndim != ndim:
        raise InvalidArgument(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape, strict=True)):
            want = "(" + ", ".join("·" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            raise InvalidArgument(f"{name} must have shape {want}, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        flat = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise InvalidArgument(f"{name} must be finite; {name}{_index(arr, flat)} = {float(arr.ravel()[flat])!r}")
    return arr


def distances_in_range(means: np.ndarray, teacher_means: np.ndarray, name: str = "means") -> None:
    """Every parameter set's means (student and teacher) span at most MAX_DISTANCE (module docstring):
    the diagonal of their bounding box, which is at least the largest distance between two means and
    at most √d times it. means (B, K, d), teacher_means (B, J, d)."""
    pts = np.concatenate([means, teacher_means], axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        lo, hi = pts.min(axis=1), pts.max(axis=1)  # the box's diagonal bounds every distance within a factor √d
        spread = np.hypot.reduce(hi - lo, axis=-1)  # no overflow of the squares
    bad = np.flatnonzero(~(spread <= MAX_DISTANCE))
    if bad.size:
        b = int(bad[0])
        where = f" (parameter set {b})" if len(spread) > 1 else ""
        raise InvalidArgument(
            f"{name} out of range{where}: the means (student and teacher) span {spread[b]:.3g}, more than the "
            f"supported {MAX_DISTANCE:g}; the integrands (cubic in the distances) and their Monte Carlo variance "
            f"(degree 6) would overflow float64 (see rfisher.validation)")


def precision(value, name: str = "prec") -> int:
    """Ball-arithmetic precision in bits, in [PREC_MIN, PREC_MAX] (module docstring)."""
    return integer(value, name, PREC_MIN, PREC_MAX)


# --- paths --------------------------------------------------------------------------------------


def _as_path(value, name: str) -> Path:
    if not isinstance(value, str | os.PathLike) or str(value) == "":
        raise InvalidArgumentType(f"{_subject(name)}must be a path, got {_kind(value)} {show(value)}")
    return Path(value)


def readable_file(value, name: str) -> Path:
    """An existing regular file we may read."""
    p = _as_path(value, name)
    if not p.exists():
        raise InvalidArgument(f"{_lead(name)}{str(p)!r} does not exist")
    if p.is_dir():
        raise InvalidArgument(f"{_lead(name)}{str(p)!r} is a directory, not a file")
    if not os.access(p, os.R_OK):
        raise InvalidArgument(f"{_lead(name)}{str(p)!r} is not readable")
    return p


def _existing_ancestor(p: Path) -> Path:
    q = p.absolute()
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def writable_file(value, name: str) -> Path:
    """A file we may create or overwrite: not a directory, in a directory we may write to."""
    p = _as_path(value, name)
    if p.is_dir():
        raise InvalidArgument(f"{_lead(name)}{str(p)!r} is a directory; give a file name")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise InvalidArgument(f"{_lead(name)}{str(p)!r} exists and is not writable")
        return p
    parent = p.absolute().parent
    if parent.exists() and not parent.is_dir():
        raise InvalidArgument(f"{_lead(name)}{str(parent)!r} is not a folder")
    if not parent.is_dir():
        raise InvalidArgument(f"{_lead(name)}the folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidArgument(f"{_lead(name)}cannot create a file in {str(parent)!r} (not writable)")
    return p


def writable_dir(value, name: str) -> Path:
    """A folder that exists and is writable, or that can be created (its nearest existing ancestor
    is a writable folder)."""
    p = _as_path(value, name)
    if p.exists():
        if not p.is_dir():
            raise InvalidArgument(f"{_lead(name)}{str(p)!r} exists and is not a folder")
        if not os.access(p, os.W_OK | os.X_OK):
            raise InvalidArgument(f"{_lead(name)}the folder {str(p)!r} is not writable")
        return p
    anc = _existing_ancestor(p)
    if not anc.is_dir():
        raise InvalidArgument(f"{_lead(name)}cannot create {str(p)!r}: {str(anc)!r} is not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise InvalidArgument(f"{_lead(name)}cannot create {str(p)!r}: {str(anc)!r} is not writable")
    return p


# --- argparse ``type=`` functions ----------------------------------------------------------------


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _parse_int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _cli(check, parse, label: str):
    """An argparse type: parse the string, then ``check(value, "")``; errors become argparse's (exit 2,
    "argument --flag: <message>")."""

    def convert(text: str):
        try:
            return check(parse(text), "")
        except InvalidArgument as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = label
    return convert


def cli_int(minimum: int | None = None, maximum: int | None = None):
    """An argparse type for an integer within [minimum, maximum]."""
    return _cli(lambda v, n: integer(v, n, minimum, maximum), _parse_int, "integer")


def cli_float(lower: float | None = None, *, positive_only: bool = False):
    """An argparse type for a finite float (> 0 with ``positive_only``, ≥ lower if given)."""
    if positive_only:
        return _cli(positive, _parse_float, "positive number")
    if lower is not None:
        return _cli(lambda v, n: at_least(v, n, lower), _parse_float, "number")
    return _cli(finite, _parse_float, "number")


cli_positive_float = cli_float(positive_only=True)
cli_rtol = _cli(rtol, _parse_float, "rtol")
cli_open_unit = _cli(open_unit, _parse_float, "number in (0, 1)")
cli_seed = _cli(seed, _parse_int, "seed")
cli_readable_file = _cli(readable_file, str, "file")
cli_writable_file = _cli(writable_file, str, "file")
cli_writable_dir = _cli(writable_dir, str, "folder")
