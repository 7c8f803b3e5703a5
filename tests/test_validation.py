"""Bad input raises a ValueError that names the problem."""

import numpy as np
import pytest

from rfisher import GaussianMixture, forward_fisher, reverse_fisher
from rfisher import quadrature as Q

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
