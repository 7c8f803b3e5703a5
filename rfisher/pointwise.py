"""The generated functions at given points, from numpy: responsibilities and Fisher integrands.

Responsibilities are the softmax of the generated logits, r_k = exp(a_k − max a)/Σ_l exp(a_l − max a)
(log-sum-exp form: means 1e4 apart give no 0/0). Used by Monte Carlo, the tests and the notebooks;
the quadrature computes the same softmax along its lines (``rfisher.lines``).
"""

from __future__ import annotations

import math

import numpy as np

from rfisher import compiled
from rfisher.compiled import njit


@njit
def softmax_columns(a, n_points):
    """a (n, N) -> softmax over the first axis, in place, for the first n_points columns."""
    n = a.shape[0]
    for i in range(n_points):
        top = a[0, i]
        for k in range(1, n):
            top = max(top, a[k, i])
        total = 0.0
        for k in range(n):
            a[k, i] = math.exp(a[k, i] - top)
            total += a[k, i]
        inv = 1.0 / total
        for k in range(n):
            a[k, i] *= inv


@njit
def responsibilities_at(n, x, centers, weights, out, logits):
    """out (components, n) = softmax of the generated ``logits`` at the n points x (d, n)."""
    logits(n, x, centers, weights, out)
    softmax_columns(out, n)


@njit
def integrand_at(n, x, mu, w, nu, pi, r, rho, out, maj, fns):
    """The integrand (out) and its majorant (maj), (P, n), at the n points x (d, n)."""
    responsibilities_at(n, x, mu, w, r, fns.student_logits)
    responsibilities_at(n, x, nu, pi, rho, fns.teacher_logits)
    fns.integrand(n, x, mu, nu, r, rho, out)
    fns.majorant(n, x, mu, nu, r, rho, maj)


def _plain(a) -> np.ndarray:
    """A writeable C-contiguous float64 copy (the compiled functions take plain arrays; a mixture's are read-only)."""
    return np.array(a, dtype=float, order="C")


def responsibilities(x, centers, weights) -> np.ndarray:
    """r_k(x) = softmax_k(log w_k − ||x − c_k||²/2) at points x (N, d): (N, n)."""
    x = _plain(np.asarray(x, dtype=float).T)
    centers = _plain(centers)
    out = np.empty((centers.shape[0], x.shape[1]))
    responsibilities_at(x.shape[1], x, centers, _plain(weights), out,
                        compiled.cfunc(f"logits:{centers.shape[0]}:{x.shape[0]}", "logits"))
    return out.T.copy()


def integrand(objective, x, means, weights, teacher_means, teacher_weights, majorant: bool = False):
    """The Fisher integrand of ``objective`` at points x (N, d): (N, 1 + K·d) [and its majorant]."""
    x = _plain(np.asarray(x, dtype=float).T)
    mu = _plain(means)
    nu = _plain(teacher_means)
    K, d = mu.shape
    J = nu.shape[0]
    N = x.shape[1]
    P = 1 + K * d
    out, maj = np.empty((P, N)), np.empty((P, N))
    r, rho = np.empty((K, N)), np.empty((J, N))
    fns, _ = compiled.generated(K, J, d, objective)
    integrand_at(N, x, mu, _plain(weights), nu, _plain(teacher_weights),
                 r, rho, out, maj, fns)
    return (out.T.copy(), maj.T.copy()) if majorant else out.T.copy()
