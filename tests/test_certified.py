"""Certified enclosures (rfisher.certified, issue 7): they contain the 30-digit reference, are
tight, reproduce the digits of docs/theory.md (I9), certify the refuted candidates' increases, and the reduction
of collinear configurations to d = 1 is proved symbolically.

A ball is proof only if it contains the truth: the containment tests compare with the mpmath
reference (rfisher.reference, an independent code path), allowing the reference's own error.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

flint = pytest.importorskip("flint")

from rfisher import GaussianMixture, certified, reference  # noqa: E402
from rfisher.certified import DECREASE, INCREASE, CertificationError  # noqa: E402
from tests.test_lyapunov import PINNED  # noqa: E402

TEACHER = GaussianMixture.single([0.0])

CASES = [  # (objective, student, teacher): overlapping, moderate, far, unequal weights, mixture teacher
    ("reverse", GaussianMixture([[3.0], [-1.0]], [0.5, 0.5]), TEACHER),
    ("reverse", GaussianMixture([[1e-3], [0.0]], [0.3, 0.7]), GaussianMixture.single([0.4])),
    ("reverse", GaussianMixture([[40.0], [-1.0]], [0.01, 0.99]), TEACHER),
    ("forward", GaussianMixture([[5.0], [-2.0]], [0.5, 0.5]), GaussianMixture([[-3.0], [4.0]], [0.25, 0.75])),
    ("reverse", GaussianMixture([[2.0], [-1.0], [7.5]], [0.2, 0.3, 0.5]), GaussianMixture([[0.0], [6.0]], [0.5, 0.5])),
]


@pytest.mark.parametrize("objective,student,teacher", CASES)
def test_enclosure_contains_reference_and_is_tight(objective, student, teacher):
    """At 128 bits: every ball contains the mpmath value (to within the reference's error bound)
    and has radius ≤ 1e−25 (separations up to 40)."""
    enc = certified.enclose(objective, student, teacher, prec=128)
    assert enc.radius() <= 1e-25
    with mpmath.workdps(40):
        ref = reference.evaluate(objective, student, teacher, dps=reference.DPS)
        balls = [enc.value] + [row[0] for row in enc.gradient]
        exact = [ref.value] + [row[0] for row in ref.gradient]
        for ball, x in zip(balls, exact, strict=True):
            mid = mpmath.mpf(ball.mid().str(45, radius=False).strip("[]"))
            rad = mpmath.mpf(float(ball.rad()))
            assert abs(mid - x) <= rad + ref.error, (ball, x, ref.error)


def test_known_digits():
    """docs/theory.md, "Identities" (I9): R = 4.72561036483704474390478527…, ∇R = (3.18413674391718…, −1.18413674391718…)
    at μ = (3, −1), w = (1/2, 1/2), μ* = 0: each ball lies inside the interval those digits state."""
    from flint import arb

    enc = certified.reverse_fisher(GaussianMixture([[3.0], [-1.0]], [0.5, 0.5]), TEACHER, prec=128)

    def inside(ball, lo, hi):
        with flint.ctx.workprec(128):  # the decimal bounds as (nearly exact) 128-bit balls
            return ball.lower() >= arb(lo) and ball.upper() <= arb(hi)

    assert inside(enc.value, "4.72561036483704474390478527", "4.72561036483704474390478528")
    assert inside(enc.gradient[0][0], "3.18413674391718", "3.18413674391719")
    assert inside(enc.gradient[1][0], "-1.18413674391719", "-1.18413674391718")
    assert enc.contains("4.725610364837044743904785272760", [["3.18413674391718397"], ["-1.18413674391718397"]]) is False
    mids = [b.mid().str(60, radius=False) for b in [enc.value] + [row[0] for row in enc.gradient]]
    assert enc.contains(mids[0], [[mids[1]], [mids[2]]])


def test_separation_1e4_is_finite_and_tight():
    """Means 1e4 apart: R ≈ w_far·(1e4)², finite, with a small relative radius; the float
    quadrature agrees within its own error estimate."""
    from rfisher.quadrature import integrate

    s = GaussianMixture([[1e4], [0.0]], [0.5, 0.5])
    enc = certified.reverse_fisher(s, TEACHER, prec=128)
    value, grad = enc.mid()
    assert math.isfinite(value) and enc.radius() <= 1e-25 * value
    q = integrate("reverse", s.means[None], s.weights, TEACHER.means)
    assert abs(q.value[0, 0] - value) <= q.error[0, 0] + float(enc.value.rad())
    assert np.all(np.abs(q.value[0, 1:] - grad.ravel()) <= q.error[0, 1:] + enc.radius())


def test_bad_input_and_failed_enclosures_raise():
    with pytest.raises(ValueError, match="separation"):
        certified.reverse_fisher(GaussianMixture([[2e4], [0.0]], [0.5, 0.5]), TEACHER)
    with pytest.raises(ValueError, match="collinear"):
        certified.reverse_fisher(GaussianMixture([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5]), GaussianMixture.single([0.0, 0.0]))
    with pytest.raises(CertificationError, match="max_radius"):
        certified.enclose("reverse", GaussianMixture([[3.0], [-1.0]], [0.5, 0.5]), TEACHER, prec=53, max_radius=1e-30)
    with pytest.raises(ValueError, match="step_size"):
        certified.certify_step([1.0], [1.0], 0.0, float("nan"))


# --- the reduction of collinear configurations to d = 1 --------------------------------------


def test_collinear_reduction_is_exact_symbolically():
    """Proof of the reduction (K = 2 students, J = 2 teacher components, d = 2; the argument is the
    same for any sizes). Put every mean on the line c + t u, ||u|| = 1, v ⟂ u, and x = c + s u + y v.

    1. The responsibilities, from their definition, equal the d = 1 ones in s (independent of y).
    2. With the same atoms, ||e||² equals the d = 1 integrand: R's and F's values reduce.
    3. ⟨∇_{μ_j}, u⟩ equals the d = 1 derivative; ⟨∇_{μ_j}, v⟩ is odd in y, so its expectation under
       y ~ N(0, 1) (independent of s, for q and p alike) vanishes. Hence ∇_{μ_j} = (d = 1 derivative)·u.
    """
    from derivations import fisher, scores
    from derivations.symbols import MixtureSymbols

    K, J = 2, 2
    two, one = MixtureSymbols(K, J, 2), MixtureSymbols(K, J, 1)
    u = (sp.Rational(3, 5), sp.Rational(4, 5))
    v = (-u[1], u[0])
    c = sp.symbols("c0 c1", real=True)
    s, y = sp.symbols("s y", real=True)
    t = [m[0] for m in one.mu]
    tn = [n[0] for n in one.nu]

    def on_line(coord):
        return tuple(c[a] + coord * u[a] for a in range(2))

    sub = {two.x[a]: c[a] + s * u[a] + y * v[a] for a in range(2)}
    for i in range(K):
        sub.update({two.mu[i][a]: on_line(t[i])[a] for a in range(2)})
        sub[two.w[i]] = one.w[i]
    for j in range(J):
        sub.update({two.nu[j][a]: on_line(tn[j])[a] for a in range(2)})
        sub[two.pi[j]] = one.pi[j]
    # the atoms of the closed forms: the same responsibilities in both (step 1), which sum to 1
    last = {one.r[-1]: 1 - sum(one.r[:-1]), one.rho[-1]: 1 - sum(one.rho[:-1])}
    atoms = {two.r[i]: one.r[i] for i in range(K)} | {two.rho[j]: one.rho[j] for j in range(J)}
    atoms = {k: v.xreplace(last) for k, v in atoms.items()}
    x1 = {one.x[0]: s} | last

    # 1. responsibilities
    for centers2, w2, centers1, w1 in ((two.mu, two.w, one.mu, one.w), (two.nu, two.pi, one.nu, one.pi)):
        r2 = scores.responsibilities_from_definition(two.x, centers2, w2)
        r1 = scores.responsibilities_from_definition(one.x, centers1, w1)
        for a, b in zip(r2, r1, strict=True):
            assert sp.simplify(sp.expand(a.xreplace(sub) - b.xreplace({one.x[0]: s}))) == 0

    # 2. the value integrand
    f2 = fisher.fisher_integrand(two).xreplace(sub).xreplace(atoms)
    f1 = fisher.fisher_integrand(one).xreplace(x1)
    assert sp.expand(f2 - f1) == 0

    # 3. the gradient integrands (both objectives)
    for grad in (fisher.reverse_gradient_integrand, fisher.forward_gradient_integrand):
        g2, g1 = grad(two), grad(one)
        for j in range(K):
            comp = [g2[j][a].xreplace(sub).xreplace(atoms) for a in range(2)]
            along = sp.expand(comp[0] * u[0] + comp[1] * u[1])
            across = sp.expand(comp[0] * v[0] + comp[1] * v[1])
            assert sp.expand(along - g1[j][0].xreplace(x1)) == 0
            assert sp.expand(across + across.xreplace({y: -y})) == 0


def test_collinear_configuration_in_2d_matches_float_quadrature():
    """Means on the line (1, 2)·t in R²: the certified (reduced) result agrees with the 2-D float
    quadrature within its error estimate, and the gradient is parallel to the line."""
    from rfisher.quadrature import integrate

    student = GaussianMixture([[0.5, 1.0], [-1.0, -2.0], [2.0, 4.0]], [0.2, 0.5, 0.3])
    teacher = GaussianMixture([[0.0, 0.0], [1.5, 3.0]], [0.6, 0.4])
    enc = certified.reverse_fisher(student, teacher, prec=96)
    value, grad = enc.mid()
    q = integrate("reverse", student.means[None], student.weights, teacher.means[None], teacher.weights)
    assert abs(q.value[0, 0] - value) <= q.error[0, 0] + enc.radius()
    assert np.all(np.abs(q.value[0, 1:] - grad.ravel()) <= q.error[0, 1:] + enc.radius())
    assert np.allclose(grad[:, 1], 2 * grad[:, 0], rtol=1e-14, atol=1e-300)


# --- certified Lyapunov steps and trajectories ------------------------------------------------


@pytest.mark.parametrize("name,cfg", PINNED)
def test_refuted_candidates_are_certified_increases(name, cfg):
    """The counterexamples of tests/test_lyapunov.py (found in floating point): at 53 bits the
    ball of ΔV excludes 0 and lies above it; R, on the same step, certifiably decreases."""
    out = certified.certify_step([m[0] for m in cfg.means], cfg.weights, cfg.target[0], cfg.eta,
                                 candidates=(name, "R"), prec=53)
    assert out[name].verdict == INCREASE, out[name].change
    assert out["R"].verdict == DECREASE, out["R"].change


def test_certified_trajectory():
    """From μ = (3, −1), w = (1/2, 1/2), μ* = 0, η = 0.3: ten steps, each with ΔV_w certified
    negative; every visited point is within 1e−12 of the exact GD step from the previous one."""
    tr = certified.certified_trajectory([3.0, -1.0], [0.5, 0.5], 0.0, 0.3, 10, prec=53)
    assert tr.stopped is None and tr.certified_steps == 10
    assert tr.shadow.max() <= 1e-12
    vw = (0.5 * tr.means**2).sum(axis=1)
    assert np.all(np.diff(vw) < 0)
