"""Bad input raises a ValueError (or TypeError) that names the argument (``rfisher.validation``)."""

import math
import time

import numpy as np
import pytest

from rfisher import GaussianMixture, forward_fisher, reverse_fisher
from rfisher import montecarlo as MC
from rfisher import quadrature as Q
from rfisher import validation as V
from rfisher.descent import gradient_descent, random_initializations
from rfisher.objectives import FisherResult

GOOD_MEANS = [[0.0], [1.0]]


@pytest.mark.parametrize(
    "means,weights,match",
    [
        ([0.0, 1.0], None, r"shape \(K, d\)"),
        ([[[0.0]]], None, r"shape \(K, d\)"),
        (np.zeros((0, 1)), None, "K = 0"),
        (np.zeros((2, 0)), None, "d = 0"),
        ([[0.0], [np.nan]], None, r"means must be finite; means\[1, 0\]"),
        ([[0.0], [np.inf]], None, "means must be finite"),
        (GOOD_MEANS, [0.5], r"shape \(2,\)"),
        (GOOD_MEANS, [[0.5, 0.5]], r"shape \(2,\)"),
        (GOOD_MEANS, [1.5, -0.5], r"positive; weights\[1\]"),
        (GOOD_MEANS, [1.0, 0.0], "positive"),
        (GOOD_MEANS, [0.5, 0.6], "sum to 1"),
        (GOOD_MEANS, [0.5, np.nan], "finite"),
    ],
)
def test_bad_mixture(means, weights, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(means, weights)


def test_weights_within_tolerance_are_renormalized():
    g = GaussianMixture(GOOD_MEANS, [0.5, 0.5 + 1e-10])
    assert abs(g.weights.sum() - 1) <= 1e-15


def test_mixture_is_immutable():
    g = GaussianMixture(GOOD_MEANS)
    with pytest.raises(ValueError):
        g.means[0, 0] = 3.0


def test_dimension_mismatch():
    with pytest.raises(ValueError, match="dimension d = 1 but teacher has d = 2"):
        reverse_fisher(GaussianMixture(GOOD_MEANS), GaussianMixture.single([0.0, 0.0]))
    with pytest.raises(ValueError, match="dimension"):
        forward_fisher(GaussianMixture(GOOD_MEANS), GaussianMixture.single([0.0, 0.0]))


def test_bad_batch_and_options():
    with pytest.raises(ValueError, match=r"shape \(B, K, d\)"):
        Q.integrate("reverse", np.zeros((2, 1)), None, np.zeros((1, 1)))
    with pytest.raises(ValueError, match="objective"):
        Q.integrate("sideways", np.zeros((1, 2, 1)), None, np.zeros((1, 1)))
    with pytest.raises(ValueError, match="rtol"):
        Q.integrate("reverse", np.zeros((1, 2, 1)), None, np.zeros((1, 1)), rtol=0.0)
    with pytest.raises(ValueError, match=r"weights\[1\] must sum to 1"):
        Q.integrate("reverse", np.zeros((2, 2, 1)), [[0.5, 0.5], [0.5, 0.6]], np.zeros((1, 1)))
    with pytest.raises(ValueError, match="means must be finite"):
        Q.integrate("reverse", np.full((1, 2, 1), np.nan), None, np.zeros((1, 1)))
    with pytest.raises(ValueError, match="rule"):
        reverse_fisher(GaussianMixture(GOOD_MEANS), GaussianMixture.single([0.0]), rule="simpson")


# --- the validation layer (rfisher.validation) ------------------------------------------------------


@pytest.mark.parametrize("value", ["1e-12", True, np.bool_(False), 1 + 0j, np.complex128(1.0), None, [1.0], object()])
def test_real_refuses_what_is_not_a_real_number(value):
    with pytest.raises(TypeError, match=r"^step_size must be a real number, got"):
        V.real(value, "step_size")


@pytest.mark.parametrize("value,match", [(math.nan, "got nan"), (math.inf, "finite, got inf"), (10**400, "too large")])
def test_real_refuses_non_finite(value, match):
    with pytest.raises(ValueError, match=f"^radius .*{match}"):
        V.real(value, "radius")


def test_real_accepts_numpy_and_python_reals():
    assert V.real(np.float32(0.5), "x") == 0.5 and V.real(3, "x") == 3.0 and V.real(np.array(2.0), "x") == 2.0


@pytest.mark.parametrize("value", [3.0, np.float64(3.0), True, "3", None, 1 + 0j])
def test_integer_refuses_non_integers(value):
    with pytest.raises(TypeError, match="^max_steps must be an integer, got"):
        V.integer(value, "max_steps")


def test_integer_range_and_seeds():
    assert V.integer(np.int64(3), "n", 0) == 3
    with pytest.raises(ValueError, match=r"^n must be an integer ≥ 1, got 0$"):
        V.integer(0, "n", 1)
    assert V.seed(99999999999999999999999) == 99999999999999999999999  # numpy's default_rng takes it
    np.random.default_rng(V.seed(99999999999999999999999))
    with pytest.raises(ValueError, match="seed must be an integer ≥ 0, got -1"):
        V.seed(-1)


def test_rtol_floor_and_atol():
    assert V.rtol(1e-15) == 1e-15
    for bad in (0.0, 1e-16, 1e-300, 1.0, -1.0):
        with pytest.raises(ValueError, match=r"rtol must be in \[1e-15, 1\)"):
            V.rtol(bad)
    assert V.atol(0.0) == 0.0
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="^atol"):
            V.atol(bad)


@pytest.mark.parametrize(
    "value,error,match",
    [
        ([[3.0], ["3.0"]], TypeError, r"got strings \(e.g. '3.0'\)"),
        ([[True], [False]], TypeError, "got bools"),
        (np.array([[1 + 1j]]), TypeError, "got complex numbers"),
        ([[1.0], [1.0, 2.0]], ValueError, "rectangular"),
        ([[1.0], [object()]], TypeError, r"means\[1, 0\] is an object"),
        ([[1.0], [10**400]], ValueError, r"means\[1, 0\] is too large"),
        ([[1.0], [math.nan]], ValueError, r"means must be finite; means\[1, 0\] = nan"),
        ("[[1.0]]", TypeError, "got a string"),
    ],
)
def test_real_array_names_the_bad_entry(value, error, match):
    with pytest.raises(error, match=match):
        V.real_array(value, "means")


def test_real_array_shape_and_big_python_ints():
    assert V.real_array([[10**30]], "x").tolist() == [[1e30]]
    with pytest.raises(ValueError, match=r"target must have shape \(3,\), got shape \(4,\)"):
        V.real_array([0, 0, 0, 0], "target", shape=(3,))


def test_mixture_refuses_strings_bools_and_complex():
    for means in ([[3.0], ["3.0"]], [[True]], np.array([[1 + 0j]])):
        with pytest.raises(TypeError, match="means must hold real numbers"):
            GaussianMixture(means)
    with pytest.raises(TypeError, match="mean must hold real numbers"):
        GaussianMixture.single(True)
    with pytest.raises(TypeError, match="weights must hold real numbers"):
        GaussianMixture([[0.0]], [True])
    with pytest.raises(TypeError, match="student must be a GaussianMixture"):
        reverse_fisher([[0.0]], GaussianMixture.single([0.0]))


def test_paths(tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    assert V.writable_file(tmp_path / "new.json", "--out") == tmp_path / "new.json"
    assert V.writable_dir(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b"
    with pytest.raises(ValueError, match="--out: .* is a directory"):
        V.writable_file(tmp_path, "--out")
    with pytest.raises(ValueError, match="--out: .* is not a folder"):
        V.writable_file(a_file / "x.json", "--out")
    with pytest.raises(ValueError, match="--out: .* exists and is not a folder"):
        V.writable_dir(a_file, "--out")
    with pytest.raises(ValueError, match="--out: cannot create .* is not a folder"):
        V.writable_dir(a_file / "sub", "--out")
    with pytest.raises(ValueError, match="--config: .* is a directory"):
        V.readable_file(tmp_path, "--config")
    with pytest.raises(ValueError, match="--config: .* does not exist"):
        V.readable_file(tmp_path / "nope", "--config")


# --- the public entry points: every argument checked, named ------------------------------------------


def test_objectives_check_every_argument():
    s, t = GaussianMixture(GOOD_MEANS), GaussianMixture.single([0.0])
    for kwargs, match in (({"rtol": "1e-12"}, "rtol must be a real number"), ({"atol": -1.0}, "atol must be ≥ 0"),
                          ({"atol": math.nan}, "atol must be a number"),
                          ({"rule": "montecarlo", "samples": 5}, "samples must be an even number"),
                          ({"rule": "montecarlo", "seed": -1}, "seed must be an integer ≥ 0")):
        with pytest.raises(ValueError, match=match):
            reverse_fisher(s, t, **kwargs)


def test_integrate_checks_its_work_arguments():
    args = ("reverse", np.zeros((1, 2, 1)), None, np.zeros((1, 1)))
    for kwargs, match in (({"max_refine": -1}, "max_refine"), ({"max_refine": 2.0}, "max_refine must be an integer"),
                          ({"max_nodes": 0}, "max_nodes"), ({"atol": math.inf}, "atol must be finite")):
        with pytest.raises(ValueError, match=match):
            Q.integrate(*args, **kwargs)


def test_rtol_below_the_floor_is_refused_at_once():
    """rtol = 1e−300 used to run without limit; now it is refused before any work, naming the floor."""
    s, t = GaussianMixture([[3.0], [-1.0]]), GaussianMixture.single([0.0])
    t0 = time.perf_counter()
    for call in (lambda: reverse_fisher(s, t, rtol=1e-300), lambda: forward_fisher(s, t, rtol=1e-300),
                 lambda: Q.integrate("reverse", s.means[None], s.weights, t.means, rtol=1e-300, max_refine=60)):
        with pytest.raises(ValueError, match=r"rtol must be in \[1e-15, 1\)"):
            call()
    assert time.perf_counter() - t0 < 1.0


def test_means_out_of_range_are_refused_with_the_limit():
    """The issue's reproducers: a student or teacher mean at 1e300 gave NaN (now: refused, limit named)."""
    far = GaussianMixture([[3.0], [1e300]], [0.4, 0.6])
    for call in (lambda: reverse_fisher(far, GaussianMixture([[0.0]])), lambda: forward_fisher(far, GaussianMixture([[0.0]])),
                 lambda: reverse_fisher(GaussianMixture([[3.0]]), GaussianMixture([[1e300]])),
                 lambda: Q.integrate("reverse", [[[3.0], [1e300]], [[1.0], [2.0]]], [0.5, 0.5], [[0.0]])):
        with pytest.raises(ValueError, match=r"out of range.*span 1e\+300, more than the supported 1e\+50"):
            call()
    # all means far from the origin but close together: in range, and computed (translation invariance)
    near = reverse_fisher(GaussianMixture([[1e300]]), GaussianMixture([[1e300]]))
    assert near.converged and near.value == 0.0


def test_at_the_edge_of_the_range_results_are_finite_or_flagged():
    """Spans up to MAX_DISTANCE: finite numbers with finite bounds, or converged = False."""
    for D in (1e6, 1e20, V.MAX_DISTANCE):
        for fn in (reverse_fisher, forward_fisher):
            r = fn(GaussianMixture([[3.0], [D]], [0.4, 0.6]), GaussianMixture([[0.0]]))
            finite = np.isfinite(r.value) and np.isfinite(r.value_error) and np.all(np.isfinite(r.gradient_error))
            assert finite or not r.converged
        r = MC.integrate("reverse", [[[0.0]]], None, [[D]], samples=64)
        assert np.all(np.isfinite(r.value)) and np.all(np.isfinite(r.stderr))


def test_a_non_finite_result_is_never_converged():
    r = FisherResult("reverse", math.nan, np.zeros((1, 1)), math.nan, np.zeros((1, 1)), 1, "quadrature", True)
    assert not r.converged
    r = FisherResult("reverse", 1.0, np.full((1, 1), math.inf), 0.0, np.zeros((1, 1)), 1, "quadrature", True)
    assert not r.converged


#: A hard valid input of the issue (K = 4, d = 3, spread 3–10, smallest weight 7e−4).
HARD_K4_D3 = (GaussianMixture([[-0.64, 4.05, 1.3], [3.1, -2.2, 0.4], [-3.3, -1.0, 2.9], [0.2, 0.9, -4.6]],
                              [7e-4, 0.2, 0.3, 0.4993]),
              GaussianMixture([[1.4, -3.9, 2.2], [-2.6, 3.3, 0.1]], [0.3, 0.7]))


def test_the_work_limit_ends_a_call_flagged():
    """A tolerance the rule cannot reach on a hard K = 4, d = 3 input ends after the work limit, flagged."""
    s, t = HARD_K4_D3
    t0 = time.perf_counter()
    r = Q.integrate("reverse", s.means[None], s.weights, t.means, t.weights, rtol=1e-15, max_nodes=300_000)
    assert time.perf_counter() - t0 < 20.0
    assert not r.converged[0] and r.nodes[0] <= 300_000


@pytest.mark.parametrize("objective", ["reverse", "forward"])
def test_hard_k4_d3_input_ends_in_time_and_flags_honestly(objective):
    """At the default tolerance the call ends within the stated limit (30 s: (max_refine + 1) passes of at
    most MAX_NODES nodes), and ``converged`` is exactly "finite and error ≤ rtol·scale + atol"."""
    s, t = HARD_K4_D3
    t0 = time.perf_counter()
    r = Q.integrate(objective, s.means[None], s.weights, t.means, t.weights)
    assert time.perf_counter() - t0 < 30.0
    allowed = r.rtol * Q.group_scale(r.scale[0]) + r.atol
    honest = bool(np.all(np.isfinite(r.value[0])) and np.all(np.isfinite(r.error[0])) and np.all(r.error[0] <= allowed))
    assert r.converged[0] == honest


def test_gradient_descent_checks_every_argument():
    t = GaussianMixture.single([0.0])
    base = {"step_size": 0.1, "max_steps": 2}
    for kwargs, error, match in (
        ({"rtol": -1.0}, ValueError, "rtol must be in"), ({"rtol": math.nan}, ValueError, "rtol must be a number"),
        ({"divergence_factor": 0.0}, ValueError, "divergence_factor must be ≥ 1"),
        ({"divergence_factor": math.nan}, ValueError, "divergence_factor"),
        ({"escape_radius": -1.0}, ValueError, "escape_radius must be positive"),
        ({"escape_radius": math.nan}, ValueError, "escape_radius"), ({"max_steps": True}, TypeError, "max_steps"),
        ({"max_steps": 3.0}, TypeError, "max_steps must be an integer, got a float 3.0"),
        ({"monitors": None}, TypeError, "monitors must be a list"), ({"monitors": ["V_nope"]}, ValueError, "monitors: unknown"),
        ({"record_every": 0}, ValueError, "record_every"), ({"seed": -1}, ValueError, "seed"),
        ({"max_steps": 10**12, "record_every": 1}, ValueError, "raise record_every"),
    ):
        with pytest.raises(error, match=match):
            gradient_descent([[3.0], [-1.0]], None, t, **{**base, **kwargs})
    with pytest.raises(TypeError, match="initial_means must hold real numbers"):
        gradient_descent([[3.0], ["x"]], None, t, **base)


def test_random_initializations_checks_every_argument():
    for kwargs, match in (({"radius": math.nan}, "radius"), ({"radius": math.inf}, "radius"), ({"radius": -1.0}, "radius"),
                          ({"d": 0}, "d must be an integer ≥ 1"), ({"target": [0, 0, 0, 0]}, r"target must have shape \(1,\)"),
                          ({"target": [math.nan]}, "target must be finite"), ({"seed": -1}, "seed"),
                          ({"coincide": 2.0}, "coincide")):
        args = {"seed": 0, "n": 3, "K": 2, "d": 1, "radius": 1.0, **kwargs}
        with pytest.raises(ValueError, match=match):
            random_initializations(**args)


def test_montecarlo_checks_its_arguments():
    for kwargs, error, match in (({"samples": -2}, ValueError, "samples"), ({"samples": 4.0}, TypeError, "samples"),
                                 ({"seed": -1}, ValueError, "seed"), ({"samples": 5}, ValueError, "even")):
        with pytest.raises(error, match=match):
            MC.integrate("reverse", [[[3.0], [-1.0]]], None, [[0.0]], **kwargs)


def test_certified_checks_precision_and_steps():
    certified = pytest.importorskip("rfisher.certified")
    s, t = GaussianMixture([[1.0]]), GaussianMixture([[0.0]])
    for prec in (-1, 52, 64.0, True):
        with pytest.raises(ValueError, match="prec"):
            certified.reverse_fisher(s, t, prec=prec)
    with pytest.raises(ValueError, match="steps must be an integer ≥ 0"):
        certified.certified_trajectory([1.0], [1.0], 0.0, 0.1, steps=-1)
    with pytest.raises(ValueError, match="step_size"):
        certified.certified_trajectory([1.0], [1.0], 0.0, -0.1, steps=0)
