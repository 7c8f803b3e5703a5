"""Symmetries: permuting components, translating everything, rotating everything (d = 2) leave F
and R unchanged and move the gradients accordingly (within the two results' error bounds)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfisher import GaussianMixture, forward_fisher, reverse_fisher
from tests import strategies as S
from tests.tolerances import assert_within

FUNCS = {"reverse": reverse_fisher, "forward": forward_fisher}


def _same(a, b, grad_map=lambda g: g):
    assert_within(a.value, b.value, a.value_error + b.value_error, "value")
    assert_within(grad_map(a.gradient), b.gradient, grad_map(a.gradient_error) + b.gradient_error + 1e-15, "gradient")


@pytest.mark.parametrize("objective", ["reverse", "forward"])
@given(config=S.configurations(d=1, max_K=3, max_J=2, regimes=("overlapping", "moderate")), data=st.data())
def test_permutation(objective, config, data):
    student, teacher, _ = config
    perm = np.array(data.draw(st.permutations(range(student.K))))
    tperm = np.array(data.draw(st.permutations(range(teacher.K))))
    a = FUNCS[objective](student, teacher)
    b = FUNCS[objective](GaussianMixture(student.means[perm], student.weights[perm]),
                         GaussianMixture(teacher.means[tperm], teacher.weights[tperm]))
    _same(a, b, lambda g: g[perm])


def _dyadic(x, bits=20):
    return np.round(np.asarray(x) * 2.0**bits) / 2.0**bits


@pytest.mark.parametrize("objective", ["reverse", "forward"])
@given(config=S.configurations(d=2, max_K=3, max_J=2, regimes=("overlapping", "moderate")),
       shift=st.lists(st.integers(-50, 50), min_size=2, max_size=2).map(np.array))
def test_translation(objective, config, shift):
    """Means on a 2^−20 grid and integer shifts, so that the translated inputs are exact: the
    test compares two descriptions of the same problem, not two rounded ones."""
    student, teacher, _ = config
    student = GaussianMixture(_dyadic(student.means), student.weights)
    teacher = GaussianMixture(_dyadic(teacher.means), teacher.weights)
    a = FUNCS[objective](student, teacher)
    b = FUNCS[objective](GaussianMixture(student.means + shift, student.weights),
                         GaussianMixture(teacher.means + shift, teacher.weights))
    _same(a, b)


@pytest.mark.parametrize("objective", ["reverse", "forward"])
@given(config=S.configurations(d=2, max_K=3, max_J=2, regimes=("overlapping", "moderate")),
       angle=st.floats(0, 2 * np.pi), reflect=st.booleans())
def test_rotation(objective, config, angle, reflect):
    student, teacher, _ = config
    c, s = np.cos(angle), np.sin(angle)
    Q = np.array([[c, -s], [s, c]]) @ (np.diag([1.0, -1.0]) if reflect else np.eye(2))
    a = FUNCS[objective](student, teacher)
    b = FUNCS[objective](GaussianMixture(student.means @ Q.T, student.weights),
                         GaussianMixture(teacher.means @ Q.T, teacher.weights))
    # gradients rotate as vectors; the error bounds are per entry, so bound the rotated error by
    # the Euclidean norm of each row's bounds
    assert_within(a.value, b.value, a.value_error + b.value_error, "value")
    bound = np.linalg.norm(a.gradient_error, axis=1, keepdims=True) + b.gradient_error + 1e-15
    assert_within(a.gradient @ Q.T, b.gradient, bound, "gradient")
