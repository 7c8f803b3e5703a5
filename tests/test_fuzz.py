"""Fuzzing the public API and the command line with bad and extreme-but-valid inputs (issue 15).

Every call must end in one of three honest ways:

* a ``ValueError``/``TypeError`` whose message names the argument that is wrong (for a valid but
  extreme input: an "out of range" error naming the means);
* a result flagged not converged (``converged=False``; a GD trajectory flagged ``diverged``; an
  enclosure refused with ``CertificationError``);
* a finite result (converged), whose error bound holds against the 30-digit mpmath reference
  (checked on a cheap d = 1 subset, ``test_bounds_hold_against_the_reference``).

Never a non-finite number reported as converged, a bad input accepted, another exception (a
traceback), or a call past CALL_LIMIT seconds. The command line must answer every bad flag, path
or configuration value with exit status 2 and one line on stderr, before any work starts.

Sizes: the ``ci`` profile runs a few hundred inputs per entry point (EXAMPLES), ``thorough``
(``HYPOTHESIS_PROFILE=thorough``) more than 10 000 in all. With ``RFISHER_FUZZ_LOG=file`` every
outcome is appended to the file as a JSON line and nothing is asserted: that is how the counts
of the issue are measured (also against an older rfisher, which this file does not import from).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from rfisher import GaussianMixture, forward_fisher, reverse_fisher
from rfisher import montecarlo as MC
from rfisher import quadrature as Q
from rfisher.descent import gradient_descent, random_initializations

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
THOROUGH = PROFILE == "thorough"
#: Inputs per entry point: 300 in CI, 1 500 (× 8 fuzzed entry points, > 10 000 in all) in the thorough profile.
EXAMPLES = 1500 if THOROUGH else 300
#: Inputs whose bounds are checked against the mpmath reference (about 0.3 s each).
REFERENCE_EXAMPLES = 150 if THOROUGH else 6
#: The longest a single call may take (s): the quadrature's work limit (MAX_NODES nodes a pass)
#: ends the slowest valid call measured (K = 4, d = 3, rtol = 1e−14) in about 10 s on one core.
CALL_LIMIT = 30.0
#: Digits of the mpmath reference (rfisher.reference, 40-digit arithmetic) trusted in the bound check.
REFERENCE_DIGITS = 30
LOG = os.environ.get("RFISHER_FUZZ_LOG")

#: Outcomes that are misbehaviour.
BAD_OUTCOMES = {"error-unnamed", "error-on-valid", "other-exception", "nonfinite-converged", "silent-accept",
                "nonfinite-unflagged", "wrong-result", "slow"}

FUZZ = settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))


# --- classification of one call ----------------------------------------------------------------------


def _named(message: str, names) -> bool:
    text = message.replace("_", " ")
    return any(n.replace("_", " ") in text for n in names)


def _finite(*arrays) -> bool:
    return all(np.all(np.isfinite(np.asarray(a, dtype=float))) for a in arrays)


def judge(result) -> str:
    """finite / flagged / nonfinite-converged / nonfinite-unflagged / wrong-result for a result."""
    kind = type(result).__name__
    if kind == "FisherResult":
        ok = _finite(result.value, result.gradient, result.value_error, result.gradient_error)
        if result.converged:
            return "finite" if ok else "nonfinite-converged"
        return "flagged"
    if kind == "QuadratureResult":
        rows = np.all(np.isfinite(result.value), axis=1) & np.all(np.isfinite(result.error), axis=1)
        if np.any(result.converged & ~rows):
            return "nonfinite-converged"
        return "finite" if np.all(result.converged) else "flagged"
    if kind == "MonteCarloResult":
        return "finite" if _finite(result.value, result.stderr) else "nonfinite-unflagged"
    if kind == "Trajectories":
        running = result.status != "diverged"
        good = (np.isfinite(result.values[-1]) & np.isfinite(result.value_errors[-1])
                & np.isfinite(result.grad_norms[-1]) & np.all(np.isfinite(result.final_means), axis=(1, 2)))
        if np.any(running & ~good):
            return "nonfinite-unflagged"
        return "finite" if np.all(running) else "flagged"
    if kind == "GaussianMixture":
        ok = _finite(result.means, result.weights) and abs(result.weights.sum() - 1) < 1e-12
        return "finite" if ok else "wrong-result"
    if kind == "ndarray":
        return "finite" if _finite(result) else "wrong-result"
    if kind == "Enclosure":
        return "finite" if result.value.is_finite() or math.isinf(float(result.value.rad())) else "wrong-result"
    if kind == "CertifiedTrajectory":
        return "finite" if _finite(result.means) else "wrong-result"
    if isinstance(result, dict):  # certify_step
        return "finite" if all(c.change.is_finite() for c in result.values()) else "wrong-result"
    raise AssertionError(f"no judge for {kind}")


def run_case(entry: str, call, bad: str | None, *, valid_names=("means",), aliases=()):
    """Run ``call()`` and classify it; assert unless recording. ``bad``: the argument that is wrong
    (None: a valid input, which may only be refused as out of range, naming one of ``valid_names``)."""
    t0 = time.perf_counter()
    result, detail = None, ""
    try:
        result = call()
    except (ValueError, TypeError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
        if type(exc).__name__ == "CertificationError":
            outcome = "flagged" if bad is None else "error-unnamed"
        elif bad is not None:  # (a valid-but-out-of-range input may be refused first)
            named = _named(str(exc), (bad, *aliases)) or ("range" in str(exc) and _named(str(exc), valid_names))
            outcome = "error-named" if named else "error-unnamed"
        else:
            outcome = "error-named" if "range" in str(exc) and _named(str(exc), valid_names) else "error-on-valid"
    except Exception as exc:  # noqa: BLE001 - every other exception is a finding
        outcome, detail = "other-exception", f"{type(exc).__name__}: {exc}"
    else:
        outcome = judge(result)
        if bad is not None and outcome in ("finite", "flagged"):
            outcome = "silent-accept"
    if time.perf_counter() - t0 > CALL_LIMIT:
        outcome = "slow"
    if LOG:
        with open(LOG, "a") as fh:
            fh.write(json.dumps({"entry": entry, "bad": bad, "outcome": outcome, "detail": detail[:200]}) + "\n")
    else:
        assert outcome not in BAD_OUTCOMES, f"{entry}: bad argument {bad!r}: {outcome} {detail}"
    return outcome, result


@pytest.fixture(scope="module", autouse=True)
def compiled_once():
    """Compile the algorithms before any call is timed (a cold numba cache costs ~1 min once; CALL_LIMIT
    is about the computation, not the compiler)."""
    teacher = GaussianMixture([[0.0]])
    for objective in ("reverse", "forward"):
        Q.integrate(objective, [[[1.0]]], None, [[0.0]])
        MC.integrate(objective, [[[1.0]]], None, [[0.0]], samples=4)
        gradient_descent([[1.0]], None, teacher, step_size=0.1, max_steps=1, objective=objective)
        gradient_descent([[1.0]], None, teacher, step_size=0.1, max_steps=1, objective=objective, rule="montecarlo")


# --- values ----------------------------------------------------------------------------------------

NOT_REAL = ["1e-12", "3", True, False, None, 1 + 0j, np.complex128(2.0), [1e-3], object()]
BAD = {
    "rtol": NOT_REAL + [0.0, -1.0, 1.0, 2.0, 1e-300, 1e-16, 5e-324, math.nan, math.inf, -math.inf],
    "atol": NOT_REAL + [-1.0, -1e-300, math.nan, math.inf],
    "positive": NOT_REAL + [0.0, -1.0, -1e-300, math.nan, math.inf, -math.inf],
    "positive_or_inf": NOT_REAL + [0.0, -1.0, math.nan, -math.inf],
    "factor": NOT_REAL + [0.0, -1.0, 0.5, math.nan, -math.inf],
    "count": [-1, -(10**30), 2.5, 3.0, True, "3", None, math.nan, 1 + 0j, np.float64(3.0)],
    "seed": [-1, -(10**30), 1.5, "0", True, None, np.float64(2.0)],
    "prec": [-1, 0, 10, 52, 64.0, True, "64", None],
    "objective": ["sideways", None, 1, "Reverse", b"reverse"],
    "rule": ["simpson", None, 1],
    "flag": [1, "yes", None, 0.0],
    "probability": NOT_REAL + [-0.1, 1.5, math.nan],
}


def bad_value(kind):
    return st.sampled_from(BAD[kind])


def log_uniform(lo, hi):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)


def coordinate():
    """A real coordinate: moderate mostly, sometimes tiny or huge (up to 1e300)."""
    return st.one_of(st.floats(-8, 8), st.floats(-8, 8), st.floats(-8, 8),
                     st.sampled_from([0.0, -0.0, 1e-300, -5e-324, 1e50, -1e50, 1e99, 1e150, 1e300, -1e300, 1.7e308]))


@st.composite
def weights(draw, K: int):
    """Valid weights, extreme ones included (1e−300 next to 1 − 1e−300 = 1)."""
    if K == 1:
        return [1.0]
    if draw(st.booleans()):
        return [1e-300] * (K - 1) + [1.0]
    raw = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=K, max_size=K)))
    return list(raw / raw.sum())


@st.composite
def mixture_args(draw, K=None, d=None, extreme=True):
    K = draw(st.integers(1, 3)) if K is None else K
    d = draw(st.integers(1, 2)) if d is None else d
    coord = coordinate() if extreme else st.floats(-8, 8)
    means = [[draw(coord) for _ in range(d)] for _ in range(K)]
    if K > 1 and draw(st.integers(0, 4)) == 0:
        means[1] = list(means[0])  # coinciding components
    return means, draw(weights(K))


BAD_MEANS = [[[3.0], ["3.0"]], [[1.0], [1.0, 2.0]], np.array([[1 + 1j]]), [[True], [False]], [[math.nan]],
             [[math.inf]], [[-math.inf], [0.0]], [], np.zeros((0, 1)), np.zeros((2, 0)), [1.0, 2.0], [[[1.0]]],
             [[object()]], "[[1.0]]", None, [[10**400]], np.array([["a"]])]


def bad_weights(K):
    w = [1.0 / K] * K
    return st.sampled_from([[-1.0] + w[1:] if K > 1 else [-1.0], [0.0] + [1.0 / max(K - 1, 1)] * (K - 1),
                            [0.5 / K] * K, [math.nan] * K, w + [0.1], ["0.5"] * K, [True] * K, [1 + 0j] * K, "w",
                            [[w]], [math.inf] * K])


# --- GaussianMixture ----------------------------------------------------------------------------------


@FUZZ
@given(st.data())
def test_fuzz_gaussian_mixture(data):
    means, w = data.draw(mixture_args())
    which = data.draw(st.sampled_from([None, None, "means", "weights", "mean"]))
    if which == "means":
        run_case("GaussianMixture", lambda: GaussianMixture(data.draw(st.sampled_from(BAD_MEANS)), None), "means")
    elif which == "weights":
        run_case("GaussianMixture", lambda: GaussianMixture(means, data.draw(bad_weights(len(means)))), "weights")
    elif which == "mean":
        bad = data.draw(st.sampled_from([True, "3.0", 1 + 1j, [[1.0], [2.0]], [math.nan], None, [["x"]]]))
        run_case("GaussianMixture.single", lambda: GaussianMixture.single(bad), "mean")
    else:
        run_case("GaussianMixture", lambda: GaussianMixture(means, w), None)


# --- reverse_fisher / forward_fisher ---------------------------------------------------------------


@FUZZ
@given(st.data())
def test_fuzz_objectives(data):
    d = data.draw(st.integers(1, 2))
    student = GaussianMixture(*data.draw(mixture_args(d=d)))
    teacher = GaussianMixture(*data.draw(mixture_args(d=d, K=data.draw(st.integers(1, 2)))))
    fn = data.draw(st.sampled_from([reverse_fisher, forward_fisher]))
    rtols = st.one_of(log_uniform(1e-13, 0.5), st.just(1e-15)) if d == 1 else log_uniform(1e-13, 0.5)
    kwargs = {"rtol": data.draw(rtols), "atol": data.draw(st.sampled_from([0.0, 1e-12, 1.0]))}
    if data.draw(st.integers(0, 5)) == 0:
        kwargs.update(rule="montecarlo", samples=data.draw(st.sampled_from([4, 64, 1024])),
                      seed=data.draw(st.integers(0, 2**70)))
    bad = data.draw(st.sampled_from([None, None, "rtol", "atol", "rule", "samples", "seed", "student", "teacher"]))
    args = [student, teacher]
    if bad in ("rtol", "atol"):
        kwargs[bad] = data.draw(bad_value(bad))
    elif bad == "rule":
        kwargs["rule"] = data.draw(bad_value("rule"))
    elif bad == "samples":
        kwargs.update(rule="montecarlo", samples=data.draw(st.sampled_from([-2, 0, 2, 3, 5, 4.0, True, "64", None])))
    elif bad == "seed":
        kwargs.update(rule="montecarlo", seed=data.draw(bad_value("seed")))
    elif bad in ("student", "teacher"):
        args[0 if bad == "student" else 1] = data.draw(st.sampled_from([None, [[1.0]], "G", 3.0, np.zeros((1, 1))]))
    note(f"{fn.__name__}({args}, {kwargs})")
    run_case(fn.__name__, lambda: fn(*args, **kwargs), bad)


# --- quadrature.integrate (batches) -------------------------------------------------------------


@FUZZ
@given(st.data())
def test_fuzz_integrate(data):
    B, K, J, d = (data.draw(st.integers(1, n)) for n in (3, 3, 2, 2))
    means = np.array([data.draw(mixture_args(K=K, d=d))[0] for _ in range(B)])
    w = data.draw(weights(K))
    nu, pi = data.draw(mixture_args(K=J, d=d))
    kwargs = {"rtol": data.draw(log_uniform(1e-13, 0.1)), "atol": data.draw(st.sampled_from([0.0, 1e-10])),
              "max_refine": data.draw(st.integers(0, 6))}
    args = {"objective": data.draw(st.sampled_from(["reverse", "forward"])), "means": means, "weights": w,
            "teacher_means": nu, "teacher_weights": pi}
    bad = data.draw(st.sampled_from([None, None, "rtol", "atol", "max_refine", "max_nodes", "objective", "means",
                                     "weights", "teacher_means", "teacher_weights"]))
    if bad in ("rtol", "atol"):
        kwargs[bad] = data.draw(bad_value(bad))
    elif bad in ("max_refine", "max_nodes"):
        kwargs[bad] = data.draw(st.sampled_from([-1, 1.5, True, "3", None] + ([0] if bad == "max_nodes" else [])))
    elif bad == "objective":
        args[bad] = data.draw(bad_value("objective"))
    elif bad in ("means", "teacher_means"):
        args[bad] = data.draw(st.sampled_from([np.zeros((1, 0, 1)), np.full((1, K, d), math.nan), [[["1"]]],
                                               np.ones((1, K, d)) * (1 + 1j), np.zeros((2, 2, 2, 2)), None]))
    else:
        n = K if bad == "weights" else J
        if bad is not None:
            args[bad] = data.draw(bad_weights(n))
    run_case("quadrature.integrate", lambda: Q.integrate(args["objective"], args["means"], args["weights"],
                                                        args["teacher_means"], args["teacher_weights"], **kwargs), bad)


# --- montecarlo.integrate ------------------------------------------------------------------------------


@FUZZ
@given(st.data())
def test_fuzz_montecarlo(data):
    B, K, J, d = (data.draw(st.integers(1, n)) for n in (2, 3, 2, 3))
    means = np.array([data.draw(mixture_args(K=K, d=d))[0] for _ in range(B)])
    nu, pi = data.draw(mixture_args(K=J, d=d))
    kwargs = {"samples": data.draw(st.sampled_from([4, 16, 256])), "seed": data.draw(st.integers(0, 2**80))}
    bad = data.draw(st.sampled_from([None, None, "samples", "seed", "objective"]))
    objective = "reverse"
    if bad == "samples":
        kwargs[bad] = data.draw(st.sampled_from([-2, 0, 2, 3, 5, 4.0, True, "64", None]))
    elif bad == "seed":
        kwargs[bad] = data.draw(bad_value("seed"))
    elif bad == "objective":
        objective = data.draw(bad_value("objective"))
    run_case("montecarlo.integrate", lambda: MC.integrate(objective, means, None, nu, pi, **kwargs), bad)


# --- gradient_descent ------------------------------------------------------------------------------------

GD_BAD = {"step_size": "positive", "max_steps": "count", "record_every": "count", "rtol": "rtol", "atol": "atol",
          "divergence_factor": "factor", "escape_radius": "positive_or_inf", "grad_tol": "positive",
          "param_tol": "positive", "objective": "objective", "rule": "rule", "seed": "seed", "samples": "count",
          "record_means": "flag"}


@FUZZ
@given(st.data())
def test_fuzz_gradient_descent(data):
    B, K, J, d = (data.draw(st.integers(1, n)) for n in (3, 2, 2, 2))
    init = np.array([data.draw(mixture_args(K=K, d=d, extreme=data.draw(st.integers(0, 3)) == 0))[0] for _ in range(B)])
    teacher = GaussianMixture(*data.draw(mixture_args(K=J, d=d, extreme=False)))
    kwargs = {"step_size": data.draw(log_uniform(1e-3, 1e3)), "max_steps": data.draw(st.integers(0, 12)),
              "objective": data.draw(st.sampled_from(["reverse", "forward"])),
              "monitors": data.draw(st.sampled_from([(), ["V_w"], ["V_w", "R"], ("V_max",)])),
              "rtol": data.draw(log_uniform(1e-12, 1e-4)), "rule": data.draw(st.sampled_from(["auto", "grid", "montecarlo"])),
              "samples": 64}
    bad = data.draw(st.sampled_from([None, None, "monitors", "initial_means", "weights", *GD_BAD]))
    weights_ = None
    if bad in GD_BAD:
        kwargs[bad] = data.draw(bad_value(GD_BAD[bad]).filter(lambda v: v is not None or bad not in ("grad_tol", "param_tol")))
        if bad == "samples":
            kwargs["rule"] = "montecarlo"
            kwargs[bad] = data.draw(st.sampled_from([-1, 1, 2.5, True, "64", None]))
        if bad in ("record_every",):
            kwargs[bad] = data.draw(st.sampled_from([0, -1, 2.5, True, "3", None]))
    elif bad == "monitors":
        kwargs[bad] = data.draw(st.sampled_from([None, "V_w", ["V_nope"], ["V_w", "V_w"], [1], 3]))
    elif bad == "initial_means":
        init = data.draw(st.sampled_from([np.full((1, K, d), math.nan), [[["x"]]], np.zeros((1, K, d)) + 1j, [1.0]]))
    elif bad == "weights":
        weights_ = data.draw(bad_weights(K))
    run_case("gradient_descent", lambda: gradient_descent(init, weights_, teacher, **kwargs), bad)


# --- random_initializations --------------------------------------------------------------------------


@FUZZ
@given(st.data())
def test_fuzz_random_initializations(data):
    args = {"seed": data.draw(st.integers(0, 10**25)), "n": data.draw(st.integers(0, 5)), "K": data.draw(st.integers(1, 4)),
            "d": data.draw(st.integers(1, 3)), "radius": data.draw(log_uniform(1e-300, 1e300))}
    kwargs = {"coincide": data.draw(st.floats(0, 1))}
    if data.draw(st.booleans()):
        kwargs["target"] = [data.draw(st.floats(-1e6, 1e6)) for _ in range(args["d"])]
    bad = data.draw(st.sampled_from([None, "seed", "n", "K", "d", "radius", "target", "coincide"]))
    if bad in ("seed", "radius"):
        args[bad] = data.draw(bad_value("seed" if bad == "seed" else "positive"))
    elif bad in ("n", "K", "d"):
        args[bad] = data.draw(st.sampled_from([-1, 1.5, True, "2", None] + ([0] if bad != "n" else [])))
    elif bad == "target":
        kwargs[bad] = data.draw(st.sampled_from([[math.nan] * args["d"], [0.0] * (args["d"] + 3), "0", [[0.0]] * 2,
                                                 [1 + 1j] * args["d"], [True] * args["d"]]))
    elif bad == "coincide":
        kwargs[bad] = data.draw(bad_value("probability"))
    run_case("random_initializations", lambda: random_initializations(**args, **kwargs), bad)


# --- certified ----------------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_fuzz_certified(data):
    certified = pytest.importorskip("rfisher.certified")
    student = GaussianMixture(*data.draw(mixture_args(K=data.draw(st.integers(1, 2)), d=1, extreme=False)))
    teacher = GaussianMixture([[data.draw(st.floats(-3, 3))]])
    entry = data.draw(st.sampled_from(["reverse_fisher", "forward_fisher", "certify_step", "certified_trajectory"]))
    # valid certified calls cost ~1 s each: one in ten is valid
    bad = data.draw(st.sampled_from(["prec"] * 4 + ["steps"] * 3 + ["step_size"] * 2 + [None]))
    prec = data.draw(bad_value("prec")) if bad == "prec" else 53
    if entry in ("reverse_fisher", "forward_fisher"):
        bad = "prec" if bad is not None else None
        prec = data.draw(bad_value("prec")) if bad else 53
        call = lambda: getattr(certified, entry)(student, teacher, prec=prec)  # noqa: E731
    else:
        m, w, t = list(student.means[:, 0]), list(student.weights), float(teacher.means[0, 0])
        eta = data.draw(bad_value("positive")) if bad == "step_size" else 0.1
        if entry == "certify_step":
            bad = None if bad == "steps" else bad
            call = lambda: certified.certify_step(m, w, t, eta, candidates=("V_w",), prec=prec)  # noqa: E731
        else:
            steps = data.draw(st.sampled_from([-1, 1.5, True, "2", None])) if bad == "steps" else 1
            call = lambda: certified.certified_trajectory(m, w, t, eta, steps=steps, prec=prec)  # noqa: E731
    run_case(f"certified.{entry}", call, bad)


# --- error bounds against the 30-digit reference (a cheap d = 1 subset) ------------------------------


@settings(max_examples=REFERENCE_EXAMPLES, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_bounds_hold_against_the_reference(data):
    """A converged result's |computed − reference| ≤ its bound + the reference's (40 digits)."""
    from rfisher import reference

    K, J = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    student = GaussianMixture(*data.draw(mixture_args(K=K, d=1, extreme=False)))
    teacher = GaussianMixture(*data.draw(mixture_args(K=J, d=1, extreme=False)))
    objective = data.draw(st.sampled_from(["reverse", "forward"]))
    rtol = data.draw(log_uniform(1e-13, 1e-6))
    fn, ref_fn = ((reverse_fisher, reference.reverse_fisher) if objective == "reverse"
                  else (forward_fisher, reference.forward_fisher))
    outcome, res = run_case(f"{objective}_fisher (reference)", lambda: fn(student, teacher, rtol=rtol), None)
    if outcome != "finite":
        return
    ref = ref_fn(student, teacher)
    value, grad = ref.as_floats()
    # the reference's own bound, plus what it does not include: its 40-digit arithmetic, trusted to
    # REFERENCE_DIGITS of the integrand's scale (1 + D)³ (at student = teacher, where the truth is exactly 0,
    # it returned 3.5e−41 with a bound of 3.2e−41), and the rounding of its value to float64
    span = float(np.ptp(np.concatenate([student.means, teacher.means])))
    ref_slack = float(ref.error) + 10.0**-REFERENCE_DIGITS * (1 + span) ** 3
    eps = np.finfo(float).eps
    ok = abs(res.value - value) <= res.value_error + ref_slack + 2 * eps * abs(value)
    ok_g = np.all(np.abs(res.gradient - grad) <= res.gradient_error + ref_slack + 2 * eps * np.abs(grad))
    if LOG:
        with open(LOG, "a") as fh:
            detail = (f"{objective} {student} {teacher} rtol={rtol!r}: value gap {abs(res.value - value):.3g} bound "
                      f"{res.value_error:.3g}; gradient gap {np.abs(res.gradient - grad).ravel()} bound "
                      f"{res.gradient_error.ravel()}; reference error {float(ref.error):.3g}")
            fh.write(json.dumps({"entry": "bound-check", "bad": None, "outcome": "bound-holds" if ok and ok_g
                                 else "bound-violated", "detail": detail}) + "\n")
        return
    assert ok, f"value {res.value!r} vs reference {value!r}: gap {abs(res.value - value):.3g} > bound {res.value_error:.3g}"
    assert ok_g, f"gradient {res.gradient} vs reference {grad}: bound {res.gradient_error}"


# --- the command line ----------------------------------------------------------------------------------

_FILES = Path(tempfile.mkdtemp(prefix="rfisher-fuzz-"))


def _config(name: str, text: str | bytes) -> str:
    path = _FILES / name
    if not path.exists():
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


GOOD_RUN = ["--teacher-means", "[[0]]", "--student-means", "[[1],[-1]]", "--step-size", "0.1", "--steps", "3"]


def _cli_cases():
    a_file = _config("a_file", "{}")
    base = ('teacher_means = [[0.0]]\nstudent_means = [[1.0]]\nstep_size = 0.1\nsteps = 3\n')
    toml = {
        "steps = 1e400": base.replace("steps = 3", "steps = 1e400"), "steps = -1": base.replace("steps = 3", "steps = -1"),
        "steps = 2.5": base.replace("steps = 3", "steps = 2.5"), "step_size = nan": base.replace("0.1", "nan"),
        "step_size = '0.1'": base.replace("0.1", "'0.1'"), "rtol = 0": base + "rtol = 0\n",
        "rtol = 1e-300": base + "rtol = 1e-300\n",
        "seed = -1": base + 'init = "random"\nK = 2\nseed = -1\n',
        "radius = inf": base + 'init = "random"\nK = 2\nradius = inf\n',
        "K = 0": base + 'init = "random"\nK = 0\n', "teacher_means nan": base.replace("[[0.0]]", "[[nan]]"),
        "ragged": base.replace("[[1.0]]", "[[1.0], [1.0, 2.0]]"), "strings": base.replace("[[1.0]]", '[["1.0"]]'),
        "bools": base.replace("[[1.0]]", "[[true]]"), "unknown": base + "stpes = 3\n",
        "monitors": base + 'monitors = ["V_nope"]\n',
        "weights": base + "student_weights = [-1.0]\n", "objective": base + 'objective = "sideways"\n',
        "record_every = 0": base + "record_every = 0\n", "n = 1.5": base + 'init = "random"\nK = 1\nn = 1.5\n',
        "far means": base.replace("[[1.0]]", "[[1e300]]"),
    }
    cases = [(["run", "--config", _config(f"c{i}.toml", text)], f"config {k}") for i, (k, text) in enumerate(toml.items())]
    cases += [(["run", "--config", str(_FILES)], "config is a folder"),
              (["run", "--config", _config("latin1.toml", b"steps = 3 # \xe9\xff\n")], "config not UTF-8"),
              (["run", "--config", str(_FILES / "missing.toml")], "config missing"),
              (["run", "--config", _config("bad.json", "[1, 2]")], "config not a table"),
              (["run", *GOOD_RUN, "--out", str(_FILES)], "--out is a folder"),
              (["run", *GOOD_RUN, "--out", f"{a_file}/x.json"], "--out under a file"),
              (["run", *GOOD_RUN[:2], "--student-means", "[[1],[nan]]", *GOOD_RUN[4:]], "--student-means not JSON"),
              (["report", "--out", a_file], "report --out is a file"),
              (["report", "--out", f"{a_file}/sub"], "report --out under a file"),
              (["codegen", "--components", "2", "--out", a_file], "codegen --out is a file")]
    floats = ["0", "-1", "nan", "inf", "-inf", "abc", "1e400", "", "0x10"]
    ints = ["0", "-1", "1.5", "abc", "1e3", "", "nan"]
    seeds = ["-1", "1.5", "x", "-99999999999999999999999"]
    flags = {("demo", "--rtol"): floats + ["1", "1e-300"], ("report", "--jobs"): ints, ("report", "--seed"): seeds,
             ("run", "--step-size"): floats, ("run", "--steps"): ints[1:], ("run", "--n"): ints, ("run", "--K"): ints,
             ("run", "--radius"): floats, ("run", "--seed"): seeds, ("run", "--record-every"): ints,
             ("run", "--rtol"): floats + ["1", "1e-300"], ("run", "--objective"): ["sideways"],
             ("sweep", "--J"): ints, ("sweep", "--d"): ints, ("sweep", "--separations"): floats, ("sweep", "--seeds"): ints,
             ("sweep", "--steps"): ints, ("sweep", "--scheme"): ["boxy"], ("codegen", "--components"): ints,
             ("codegen", "--teacher"): ints, ("codegen", "--dim"): ints}
    for (cmd, flag), values in flags.items():
        for v in values:
            extra = GOOD_RUN if cmd == "run" else []
            cases.append(([cmd, *extra, flag, v] if flag not in extra else [cmd, *_replace(extra, flag, v)], f"{cmd} {flag} {v}"))
    return cases


def _replace(argv, flag, value):
    out = list(argv)
    out[out.index(flag) + 1] = value
    return out


class _Started(Exception):
    """Raised by the stubs below: the command got past its checks and started work."""


@pytest.fixture
def no_work(monkeypatch):
    """Replace the work of every subcommand by a stub that raises _Started (validation must come first)."""
    import rfisher
    from rfisher import codegen_cli, descent, report, sweep

    def stub(*args, **kwargs):
        raise _Started

    for mod, name in ((rfisher, "reverse_fisher"), (rfisher, "forward_fisher"), (report, "run"),
                      (descent, "gradient_descent"), (sweep, "make_tasks"), (codegen_cli, "write"),
                      (codegen_cli, "check")):
        monkeypatch.setattr(mod, name, stub)


CLI_CASES = _cli_cases()


def run_cli(argv):
    from rfisher import cli

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


@pytest.mark.parametrize("argv,label", CLI_CASES, ids=[c[1] for c in CLI_CASES])
def test_fuzz_cli_bad_input(no_work, argv, label):
    """Exit 2 and one line naming the problem, before any work (the work is stubbed out)."""
    try:
        code, err = run_cli(argv)
        outcome = "error-named" if code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err else \
            "error-unnamed"
        detail = f"exit {code}: {err.strip()[:200]}"
    except _Started:
        outcome, detail = "silent-accept", "the command started its work"
    except Exception as exc:  # noqa: BLE001
        outcome, detail = "other-exception", f"{type(exc).__name__}: {exc}"
    if LOG:
        with open(LOG, "a") as fh:
            fh.write(json.dumps({"entry": f"cli {argv[0]}", "bad": label, "outcome": outcome, "detail": detail}) + "\n")
        return
    assert outcome == "error-named", f"{label}: {outcome}: {detail}"


def test_fuzz_cli_valid_seeds_are_accepted(no_work):
    """A valid seed of any size, and the other valid flags, pass the checks (the stubbed work starts)."""
    for argv in (["run", *GOOD_RUN, "--init", "random", "--K", "2", "--seed", "99999999999999999999999"],
                 ["report", "--seed", "99999999999999999999999", "--out", str(_FILES / "new" / "folder")],
                 ["demo", "--rtol", "1e-15"], ["sweep", "--J", "2", "--separations", "3", "--seeds", "1", "--steps", "1"]):
        with pytest.raises(_Started):
            run_cli(argv)
