"""The generated functions at given points, from numpy: responsibilities and Fisher integrands.

Responsibilities are the softmax of the generated logits, r_k = exp(a_k − max a)/Σ_l exp(a_l − max a)
(log-sum-exp form: means 1e4 apart give no 0/0). Used by Monte Carlo, the tests and the notebooks;
the quadrature computes the same softmax along its lines (``rfisher.lines``).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from rfisher import compiled

# the generated functions are bound per size by rfisher.compiled.specialize
from rfisher.compiled import logits, njit


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


def responsibilities_at(n, x, centers, weights, out):
    """out (components, n) = softmax of the logits at the n points x (d, n)."""
    logits(n, x, centers, weights, out)
    softmax_columns(out, n)


def responsibilities_at_student(n, x, centers, weights, out):
    """Placeholder for ``responsibilities_at`` of the student's size (bound by ``_integrand``)."""
    return compiled.unbound()


responsibilities_at_teacher = responsibilities_at_student
fisher_integrand = fisher_majorant = compiled.unbound  # bound per size by ``_integrand``


def integrand_at(n, x, mu, w, nu, pi, r, rho, out, maj):
    """The integrand (out) and its majorant (maj), (P, n), at the n points x (d, n)."""
    responsibilities_at_student(n, x, mu, w, r)
    responsibilities_at_teacher(n, x, nu, pi, rho)
    fisher_integrand(n, x, mu, nu, r, rho, out)
    fisher_majorant(n, x, mu, nu, r, rho, maj)


@cache
def _responsibilities(n: int, d: int):
    env = {"logits": compiled.generated(f"logits:{n}:{d}", "logits"), "softmax_columns": softmax_columns}
    from rfisher import generated_modules

    tag = f"n{n}_d{d}_{compiled.hash_of(generated_modules.load_logits(n, d))}"
    return compiled.specialize(responsibilities_at, tag, env)


@cache
def _integrand(K: int, J: int, d: int, objective: str):
    env = compiled.size_bindings(K, J, d, objective)
    env["fisher_integrand"], env["fisher_majorant"] = env["integrand"], env["majorant"]
    env["responsibilities_at_student"] = _responsibilities(K, d)
    env["responsibilities_at_teacher"] = _responsibilities(J, d)
    return compiled.specialize(integrand_at, f"{objective}_{compiled.size_tag(K, J, d)}", env)


def responsibilities(x, centers, weights) -> np.ndarray:
    """r_k(x) = softmax_k(log w_k − ||x − c_k||²/2) at points x (N, d): (N, n)."""
    x = np.ascontiguousarray(np.asarray(x, dtype=float).T)
    centers = np.ascontiguousarray(centers, dtype=float)
    out = np.empty((centers.shape[0], x.shape[1]))
    _responsibilities(centers.shape[0], x.shape[0])(x.shape[1], x, centers, np.asarray(weights, dtype=float), out)
    return out.T.copy()


def integrand(objective, x, means, weights, teacher_means, teacher_weights, majorant: bool = False):
    """The Fisher integrand of ``objective`` at points x (N, d): (N, 1 + K·d) [and its majorant]."""
    x = np.ascontiguousarray(np.asarray(x, dtype=float).T)
    mu = np.ascontiguousarray(means, dtype=float)
    nu = np.ascontiguousarray(teacher_means, dtype=float)
    K, d = mu.shape
    J = nu.shape[0]
    N = x.shape[1]
    P = 1 + K * d
    out, maj = np.empty((P, N)), np.empty((P, N))
    r, rho = np.empty((K, N)), np.empty((J, N))
    _integrand(K, J, d, objective)(N, x, mu, np.asarray(weights, dtype=float), nu, np.asarray(teacher_weights, dtype=float),
                                   r, rho, out, maj)
    return (out.T.copy(), maj.T.copy()) if majorant else out.T.copy()
