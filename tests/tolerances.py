"""The one written tolerance policy of the test suite.

* A computed number carries an error bound (quadrature: the conservative estimate of
  ``rfisher.quadrature``; mpmath reference: its own bound; Monte Carlo: standard errors).
  Two numbers agree when they differ by at most the sum of their bounds: ``assert_within``.
* The quality target of the float code is relative: |F − F_ref| ≤ RTOL·F_ref (F, R ≥ 0), and
  norm-wise for gradients, max_j |∂_j − ∂_j,ref| ≤ RTOL·max_j |∂_j,ref| (an entry of 1e−57, for a
  component far from all mass, is not asked for 57 digits).
* Zero targets (a Lyapunov decrement ≤ 0, R at the optimum) are absolute: ``assert_at_most``
  with the bound as slack; bounds (0 ≤ R ≤ V_w) are one-sided.
* Monte Carlo agreement: within MC_SIGMAS standard errors (a false alarm rate of ~6e−5 per
  check for a normal estimate).
* Identities between generated code and SymPy/generic numpy, pointwise: relative 1e−12 of the
  magnitude of the terms (a few dozen roundings).
"""

from __future__ import annotations

import numpy as np

RTOL = 1e-12
MC_SIGMAS = 4.0
POINTWISE_RTOL = 1e-12


def assert_within(actual, expected, bound, what: str = "value"):
    actual, expected, bound = (np.asarray(v, dtype=float) for v in (actual, expected, bound))
    gap = np.abs(actual - expected)
    bad = gap > bound
    assert not np.any(bad), (
        f"{what}: |actual − expected| exceeds the error bound at {np.argwhere(bad)[:3].tolist()}: "
        f"gap {gap[bad][:3]}, bound {bound[bad] if bound.shape else bound}"
    )


def assert_at_most(value, limit, slack, what: str = "value"):
    value, limit, slack = (np.asarray(v, dtype=float) for v in (value, limit, slack))
    bad = value > limit + slack
    assert not np.any(bad), f"{what}: {value[bad] if value.shape else value} > {limit} + slack {slack}"
