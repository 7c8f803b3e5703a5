"""The verifier (rfisher.verifier) and the near-θ* derivations (derivations.near_optimum), issue 12 item 3.

The reduction, the atoms and the step bound are proved in SymPy; the ball enclosures are checked against the
40-digit reference (rfisher.reference, an independent code path: the codegen integrands of R and ∇R) and the
certified enclosures of rfisher.certified; every certificate is shown to fail where it must (a flipped integrand,
a box around θ*, the refuted candidate V_w).
"""

import json
import math

import mpmath
import pytest

flint = pytest.importorskip("flint")

from flint import arb, ctx  # noqa: E402

from derivations import near_optimum as n  # noqa: E402
from rfisher import GaussianMixture, certified, reference, verifier  # noqa: E402
from rfisher.verifier import Box  # noqa: E402

TEACHER = GaussianMixture.single([0.0])


def student(delta, s, w):
    """q_θ with offset δ, spread s, weight w (dyadic inputs keep the means and 1 − w exact doubles)."""
    return GaussianMixture([[delta + (1 - w) * s], [delta - w * s]], [w, 1 - w])


# --- derivations ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", [n.check_logit_gap, n.check_responsibility_gap, n.check_named_logistic,
                                   n.check_spread_derivative_atoms, n.check_ray_derivative, n.check_flow_quadratic,
                                   n.check_step_bound, n.check_leading_order, n.check_spread_range,
                                   n.check_family_discriminant, n.check_k3_posterior_mean])
def test_symbolic_proofs(check):
    assert check()


def test_flow_quadratic_can_fail():
    """The proof machinery rejects a wrong coefficient (the checks are not vacuous)."""
    A, B, C = n.flow_quadratic()
    g1, g2 = n.objective_gradient()
    lhs = n.W**n.ALPHA * (n.DELTA + (1 - n.W) * n.S) * g1 + (1 - n.W) ** n.ALPHA * (n.DELTA - n.W * n.S) * g2
    assert n.sp.simplify(n.sp.expand(lhs - (A * n.DELTA**2 + B * n.DELTA + 2 * C))) != 0


# --- the reduction against the reference ------------------------------------------------------------------


def _ref_ray(delta, s, w):
    """(R, ⟨θ − θ*, ∇R⟩, error) from the 40-digit reference."""
    q = student(delta, s, w)
    ref = reference.evaluate("reverse", q, TEACHER)
    theta = [mpmath.mpf(float(m)) for m in q.means[:, 0]]
    dot = sum(t * g[0] for t, g in zip(theta, ref.gradient, strict=True))
    return ref.value, dot, ref.error * (1 + sum(abs(t) for t in theta))


@pytest.mark.parametrize("s,w", [(0.0625, 0.25), (1.5, 0.125), (6.0, 0.5), (3.0, 0.0625)])
def test_spread_derivative_contains_reference(s, w):
    """At a point (s, w) the ball of u = ∂_s G contains the reference's ⟨θ − θ*, ∇R⟩/s at δ = 0, and is tight
    enough to tell a 5% error apart."""
    u, _ = verifier.enclose_spread_derivative(s, s, w, w, z_budget=2000, z_target=0.01)
    with mpmath.workdps(40):
        _, dot, err = _ref_ray(0.0, s, w)
        h = mpmath.mpf(float(u.mid())) * s
        assert abs(h - dot) <= float(u.rad()) * s + err
        assert float(u.rad()) <= 0.05 * abs(float(u.mid()))


@pytest.mark.parametrize("delta,s,w,certified_ball", [(0.25, 0.5, 0.25, True), (-1.0, 2.0, 0.125, False),
                                                    (0.03125, 0.125, 0.5, False)])
def test_ray_derivative_reduction(delta, s, w, certified_ball):
    """⟨θ − θ*, ∇R⟩ = 2δ² + s·u: the right side (verifier ball) overlaps the certified ball of the left side
    (rfisher.certified, the full gradient of R), or contains the reference's value; 2δ² replaced by δ² is refuted."""
    u, _ = verifier.enclose_spread_derivative(s, s, w, w, z_budget=2000, z_target=0.01)
    with ctx.workprec(64):
        rhs = 2 * arb(delta) ** 2 + arb(s) * u
        wrong = arb(delta) ** 2 + arb(s) * u
    if certified_ball:
        q = student(delta, s, w)
        enc = certified.reverse_fisher(q, TEACHER, prec=64)
        with ctx.workprec(64):
            dot = sum((arb(float(m)) * g[0] for m, g in zip(q.means[:, 0], enc.gradient, strict=True)), arb(0))
        assert dot.overlaps(rhs) and not dot.overlaps(wrong), (dot, rhs)
        return
    with mpmath.workdps(40):
        _, dot, err = _ref_ray(delta, s, w)
        for ball, inside in ((rhs, True), (wrong, False)):
            gap = abs(dot - mpmath.mpf(ball.mid().str(30, radius=False).strip("[]")))
            assert (gap <= float(ball.rad()) + err) == inside


def test_symmetries():
    """u(s, w) = u(s, 1 − w) (the verifier covers w ≤ ½ only): balls overlap; and the reference agrees that
    h(s, w) = h(s, 1 − w) = h(−s, w) to its error."""
    for s, w in ((0.75, 0.125), (4.0, 0.25)):
        a, _ = verifier.enclose_spread_derivative(s, s, w, w, z_budget=2000, z_target=0.01)
        b, _ = verifier.enclose_spread_derivative(s, s, 1 - w, 1 - w, z_budget=2000, z_target=0.01)
        assert a.overlaps(b)
        with mpmath.workdps(40):
            _, d1, e1 = _ref_ray(0.0, s, w)
            _, d2, e2 = _ref_ray(0.0, s, 1 - w)
            assert abs(d1 - d2) <= e1 + e2
    with mpmath.workdps(40):  # even in s (the verifier covers s ≥ 0 only)
        _, d1, e1 = _ref_ray(0.0, 1.5, 0.25)
        _, d2, e2 = _ref_ray(0.0, -1.5, 0.25)
        assert abs(d1 - d2) <= e1 + e2 and d1 > 100 * e1


# --- certificates that succeed and that must fail ---------------------------------------------------------


def test_small_box_is_certified_and_its_bound_is_below_the_truth():
    box = Box(1.0, 1.125, 0.25, 0.28125)
    r = verifier.certify_box(box, eps=0.1)
    assert r.certified and r.lower > 0 and r.eta > 0
    with mpmath.workdps(40):
        for s in (box.s_lo, box.s_hi):
            for w in (box.w_lo, box.w_hi):
                _, dot, err = _ref_ray(0.0, s, w)
                assert r.lower <= dot + err
                # the step bound: at δ = 0, η(θ) = s/u ≥ η_* ≥ the box's bound
                assert r.eta <= s * s / (dot + err)


def test_flipped_integrand_is_not_certified():
    box = Box(1.0, 1.125, 0.25, 0.28125)
    assert not verifier.certify_box(box, eps=0.1, flip_sign=True).certified


def test_box_around_the_optimum_is_not_certified_without_eps():
    """With ε = 0 the box s ∈ [0, 0.05] contains θ* itself, where ⟨θ − θ*, ∇R⟩ = 0: not certified; with ε = 0.1
    the mean offset is at least (0.1 − 0.05)/√2 on it and it is."""
    box = Box(0.0, 0.05, 0.25, 0.3)
    assert not verifier.certify_box(box, eps=0.0).certified
    assert verifier.certify_box(box, eps=0.1).certified


def test_refuted_candidate_is_not_certified():
    """V_w (α = 1) on s ∈ [0.2, 0.3], w ∈ [0.1, 0.15]: not certified, and the box does contain a violation (the
    vertex of the quadratic in δ, with u from the reference): a verdict that could not fail would pass here."""
    box = Box(0.2, 0.3, 0.1, 0.15)
    assert not verifier.certify_box(box, eps=0.1, alpha=1.0).certified
    s, w = 0.25, 0.125
    with mpmath.workdps(40):
        _, dot, err = _ref_ray(0.0, s, w)
        u = dot / s
        A, B, C = (n.sp.lambdify([n.S, n.W, n.U_SPREAD], c, "mpmath")(mpmath.mpf(s), mpmath.mpf(w), u)
                   for c in n.flow_quadratic(1))
        delta = -B / (2 * A)
        value = A * delta**2 + B * delta + C
        assert value < -100 * err and abs(delta) * math.sqrt(2) + s > 0.1  # inside the region ||θ − θ*|| ≥ ε


def test_region_and_its_interface(tmp_path):
    """A small region: certified, JSON-able details, a figure; the same boxes with two worker processes; and a
    region that the depth limit leaves uncovered is reported as not certified."""
    region = verifier.verify(M=1.0, eps=0.5, w_min=0.3)
    assert region.certified_boxes > 0 and region.complete and not region.uncovered
    d = json.loads(json.dumps(region.details()))
    assert d["count"] == region.certified_boxes and d["min_lower_bound"] > 0 and d["eta_max"] > 0
    assert "certified" in region.summary()
    path = verifier.region_figure(tmp_path / "region.png", d)
    assert path.exists() and path.stat().st_size > 1000
    again = verifier.verify(M=1.0, eps=0.5, w_min=0.3, workers=2)
    assert again.details()["boxes"] == d["boxes"]
    coarse = verifier.verify(M=1.0, eps=0.5, w_min=0.3, alpha=1.0, max_depth=0)
    assert not coarse.complete and coarse.uncovered and coarse.summary().startswith("NOT certified")


@pytest.mark.parametrize("kwargs,name", [({"eps": 0.0}, "eps"), ({"M": math.inf}, "M"), ({"w_min": 0.5}, "w_min"),
                                         ({"alpha": 2.0}, "alpha"), ({"workers": 0}, "workers")])
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        verifier.verify(**kwargs)


@pytest.mark.parametrize("argv,name", [(["--eps", "-1"], "--eps"), (["--wmin", "0.6"], "--wmin"), (["--M", "x"], "--M")])
def test_cli_bad_input_exits_2(capsys, argv, name):
    assert verifier.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and name in err and "Traceback" not in err


# --- the series near θ* against the reference -------------------------------------------------------------


@pytest.mark.parametrize("s,w", [(0.0625, 0.25), (0.125, 0.5), (0.125, 0.125)])
def test_series_against_reference(s, w):
    """G and h = s∂_sG from ``spread_series(8)`` truncated after s⁶ agree with the 40-digit reference (R and
    ⟨θ − θ*, ∇R⟩ at δ = 0) to within twice the first omitted term (the s⁸ term), dropping the s⁶ term is detected,
    and the leading order with δ ≠ 0, 2δ² + 4C², holds to within twice its next term."""
    G8, h8 = n.spread_series(8)
    with mpmath.workdps(40):
        R, dot, err = _ref_ray(0.0, s, w)

        def ev(e):
            return n.sp.lambdify([n.S, n.W], e, "mpmath")(mpmath.mpf(s), mpmath.mpf(w))

        for ref, series in ((R, G8), (dot, h8)):
            s6 = series - series.coeff(n.S, 8) * n.S**8
            tol = 2 * abs(ev(series.coeff(n.S, 8) * n.S**8)) + err
            assert abs(ref - ev(s6)) <= tol
            assert abs(ref - ev(s6 - series.coeff(n.S, 6) * n.S**6)) > tol
        delta = s**3 / 4
        _, dot_d, err_d = _ref_ray(delta, s, w)
        C = ev(n.weighted_covariance())
        lead = 2 * mpmath.mpf(delta) ** 2 + 4 * C**2
        assert abs(dot_d - lead) <= 2 * abs(ev(h8.coeff(n.S, 6) * n.S**6)) + err_d


# --- the K = 3 slice --------------------------------------------------------------------------------------


def test_k3_slice_point_contains_reference_and_a_box_certifies():
    """r∂_r G at (r, φ) = (0.5, 0.7) for the slice's weights contains the reference's ⟨θ − θ*, ∇R⟩ at δ = 0 (means
    rounded to doubles: slack 1e−14 relative); a small box certifies, the same box with ε = 0 around r = 0 does not."""
    import numpy as np

    r, phi = 0.5, 0.7
    D, _ = verifier.enclose_k3_dilation(r, r, phi, phi, z_budget=2000, z_target=0.01)
    v1, v2 = n.k3_basis()
    c = [r * (math.cos(phi) * float(a) + math.sin(phi) * float(b)) for a, b in zip(v1, v2, strict=True)]
    q = GaussianMixture(np.array(c).reshape(3, 1), [0.2, 0.3, 0.5])
    with mpmath.workdps(40):
        ref = reference.evaluate("reverse", q, TEACHER)
        dot = sum(mpmath.mpf(float(m)) * g[0] for m, g in zip(q.means[:, 0], ref.gradient, strict=True))
        gap = abs(dot - mpmath.mpf(float(D.mid())))
        assert gap <= float(D.rad()) + 1e-14 * abs(dot) + 3 * ref.error
        assert float(D.rad()) <= 0.05 * abs(float(D.mid()))
    assert verifier.k3_certify_box(0.2, 0.22, 0.3, 0.35, eps=0.1)[0]
    assert not verifier.k3_certify_box(0.0, 0.05, 0.0, 0.3, eps=0.0)[0]
