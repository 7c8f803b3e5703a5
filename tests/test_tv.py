"""Total variation: exact in d = 1 (against mpmath with the roots located by mpmath), d = 2 by lines."""

import mpmath
import numpy as np
import pytest
from hypothesis import given

from rfisher import GaussianMixture
from rfisher.tv import total_variation
from tests import strategies as S


def _tv_reference(q, p):
    """½∫|q − p| at 30 digits: roots of q − p bracketed on a 0.005 grid and refined by mpmath,
    then the integral of q − p between consecutive roots by mpmath.quad."""
    with mpmath.workdps(30):
        def f(x):
            return (sum(w * mpmath.npdf(x, m, 1) for w, m in zip(q.weights, q.means[:, 0]))
                    - sum(w * mpmath.npdf(x, m, 1) for w, m in zip(p.weights, p.means[:, 0])))
        lo = min(q.means.min(), p.means.min()) - 14
        hi = max(q.means.max(), p.means.max()) + 14
        xs = np.arange(lo, hi, 0.005)
        vals = [f(x) for x in xs]
        roots = [mpmath.findroot(f, (xs[i], xs[i + 1]), solver="anderson") for i in range(len(xs) - 1)
                 if vals[i] * vals[i + 1] < 0]
        pts = [mpmath.mpf(lo) - 10, *roots, mpmath.mpf(hi) + 10]
        return float(sum(abs(mpmath.quad(f, [a, b])) for a, b in zip(pts[:-1], pts[1:])) / 2)


@given(config=S.configurations(d=1, max_K=3, max_J=2, regimes=("overlapping", "moderate")))
def test_one_dimensional_tv_is_exact(config):
    q, p, _ = config
    got = total_variation(q, p)
    assert abs(got.value - _tv_reference(q, p)) <= got.error + 1e-13
    assert got.error < 1e-9


def test_tv_basics():
    p = GaussianMixture.single([0.0])
    assert total_variation(p, p).value == 0.0
    far = GaussianMixture([[0.0], [40.0]], [0.7, 0.3])
    assert abs(total_variation(far, p).value - 0.3) < 1e-14
    a, b = GaussianMixture([[1.0], [-2.0]], [0.4, 0.6]), GaussianMixture([[0.5], [3.0]], [0.3, 0.7])
    assert abs(total_variation(a, b).value - total_variation(b, a).value) < 1e-14
    # two unit Gaussians δ apart: TV = 2Φ(δ/2) − 1
    one = GaussianMixture.single([1.5])
    assert abs(total_variation(one, p).value - float(mpmath.erf(0.75 / mpmath.sqrt(2)))) < 1e-14


@pytest.mark.parametrize("angle", [0.0, 0.4, 1.3])
def test_two_dimensional_tv_by_lines(angle):
    """Collinear means in 2D give the 1D value; a general configuration is within its error of a
    finer outer step."""
    u = np.array([np.cos(angle), np.sin(angle)])
    q1, p1 = GaussianMixture([[3.0], [-1.0]], [0.3, 0.7]), GaussianMixture([[0.0], [1.0]], [0.5, 0.5])
    q2 = GaussianMixture(q1.means * u, q1.weights)
    p2 = GaussianMixture(p1.means * u, p1.weights)
    one, two = total_variation(q1, p1), total_variation(q2, p2)
    assert abs(one.value - two.value) <= one.error + two.error + 1e-12
    q3 = GaussianMixture([[3.0, 1.0], [-1.0, 2.0], [0.0, -1.0]], [0.3, 0.5, 0.2])
    p3 = GaussianMixture([[0.0, 0.0], [1.0, 1.0]])
    a, b = total_variation(q3, p3), total_variation(q3, p3, outer_step=0.02)
    assert abs(a.value - b.value) <= a.error + b.error


def test_tv_bad_input():
    with pytest.raises(ValueError, match="dimension"):
        total_variation(GaussianMixture.single([0.0]), GaussianMixture.single([0.0, 0.0]))
    with pytest.raises(ValueError, match="d = 1 and d = 2"):
        total_variation(GaussianMixture.single([0.0] * 3), GaussianMixture.single([0.0] * 3))
