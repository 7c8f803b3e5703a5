"""Teacher layouts, initialization schemes, the C4 condition and Monte Carlo TV."""

import numpy as np
import pytest

from rfisher import GaussianMixture, setups
from rfisher.mixture_teacher import c4_cases, nearest, tv_condition
from rfisher.tv import total_variation, total_variation_mc


@pytest.mark.parametrize("layout,J,d", [("line", 5, 1), ("line", 3, 2), ("simplex", 3, 2), ("simplex", 5, 5),
                                        ("random", 8, 2), ("random", 5, 5), ("random", 4, 1)])
def test_layouts_have_exactly_the_separation(layout, J, d):
    pts = setups.teacher_means(layout, J, d, 3.5, seed=2)
    assert pts.shape == (J, d)
    assert abs(setups.min_distance(pts) - 3.5) < 1e-12
    if layout == "simplex":
        diff = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
        assert np.allclose(diff[~np.eye(J, dtype=bool)], 3.5)


def test_layout_errors():
    with pytest.raises(ValueError, match="needs d ≥ 3"):
        setups.teacher_means("simplex", 4, 2, 1.0)
    with pytest.raises(ValueError, match="layout"):
        setups.teacher_means("spiral", 3, 2, 1.0)
    with pytest.raises(ValueError, match="separation"):
        setups.teacher_means("line", 3, 2, 0.0)


def test_schemes():
    teacher = setups.make_teacher("line", 3, 2, 6.0)
    a = setups.initializations("teacher", teacher, 4, 50, seed=3)
    b = setups.initializations("teacher", teacher, 4, 50, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50, 4, 2)
    # drawn from p: nearest modes are spread over all three
    assert set(nearest(a, teacher.means).ravel()) == {0, 1, 2}
    box = setups.initializations("box", teacher, 2, 100, seed=0, margin=1.0)
    assert np.all(box[..., 0] >= -7.0) and np.all(box[..., 0] <= 7.0)
    user = setups.initializations("user", teacher, 2, 3, means=[[0.0, 0.0], [1.0, 1.0]])
    assert user.shape == (3, 2, 2)
    with pytest.raises(ValueError, match="shape"):
        setups.initializations("user", teacher, 3, 2, means=[[0.0, 0.0]])
    with pytest.raises(ValueError, match="scheme"):
        setups.initializations("grid", teacher, 2, 2)


def test_tv_condition():
    teacher = GaussianMixture([[0.0], [10.0], [20.0]], [0.2, 0.3, 0.5])
    holds = tv_condition([[0.5], [9.0], [21.0]], [0.2, 0.3, 0.5], teacher)
    assert holds.holds and holds.predicted_tv < 1e-15
    missed = tv_condition([[0.5], [9.0]], [0.5, 0.5], teacher)
    assert not missed.holds and abs(missed.predicted_tv - 0.5) < 1e-15  # ½(|0.5−0.2| + |0.5−0.3| + 0.5)
    np.testing.assert_allclose(missed.mass, [0.5, 0.5, 0.0])


def test_c4_cases_in_one_dimension():
    for case in c4_cases(d=1):
        assert case.ok, case


def test_monte_carlo_tv_within_its_error():
    q = GaussianMixture([[3.0], [-1.0]], [0.3, 0.7])
    p = GaussianMixture.single([0.0])
    exact = total_variation(q, p)
    mc = total_variation_mc(q, p, samples=2**15, seed=1)
    assert abs(mc.value - exact.value) <= 4 / 3 * mc.error  # error = 3σ; allow 4σ
    again = total_variation_mc(q, p, samples=2**15, seed=1)
    assert again == mc
