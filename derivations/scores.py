"""Mixture scores: densities, responsibilities, posterior mean and score (docs/theory.md, "Notation and conventions").

Two layers, for one concrete size (K, J, d):

* the *definitions*: the mixture density written out with exponentials, the score obtained as
  ``diff(log q, x)``, the responsibilities as ``w_i φ(x − μ_i) / q(x)``;
* the *closed forms*: the same objects in terms of responsibility atoms r_i (and ρ_j for the
  teacher), which are what the code generator prints (the responsibilities themselves are
  evaluated in log-sum-exp form from the logits below).

``derivations.proofs`` shows that each closed form equals its definition exactly.
"""

from __future__ import annotations

import sympy as sp

from derivations.symbols import MixtureSymbols, dot, sq_norm, sub


def gaussian_kernel(x, center) -> sp.Expr:
    """exp(−||x − c||²/2): the unnormalized identity-covariance Gaussian N(x; c, I)·(2π)^{d/2}."""
    return sp.exp(-sq_norm(sub(x, center)) / 2)


def mixture_density(x, centers, weights) -> sp.Expr:
    """Σ_i w_i N(x; c_i, I) = Σ_i w_i (2π)^{−d/2} exp(−||x − c_i||²/2)."""
    d = len(x)
    norm = (2 * sp.pi) ** sp.Rational(-d, 2)
    return sp.Add(*[w * norm * gaussian_kernel(x, c) for w, c in zip(weights, centers, strict=True)])


def logits(x, centers, weights) -> list[sp.Expr]:
    """a_i(x) = log w_i − ||x − c_i||²/2, so that r = softmax(a) (the (2π)^{−d/2} cancels)."""
    return [sp.log(w) - sq_norm(sub(x, c)) / 2 for w, c in zip(weights, centers, strict=True)]


def logit_gradient(x, center) -> tuple:
    """∇_x a_i(x) = −(x − c_i) = c_i − x; a_i is a quadratic with the same Hessian −I for all i."""
    return tuple(-(xa - ca) for xa, ca in zip(x, center, strict=True))


# --- definitions -----------------------------------------------------------------------------


def responsibilities_from_definition(x, centers, weights) -> list[sp.Expr]:
    """r_i(x) = w_i N(x; c_i, I) / Σ_k w_k N(x; c_k, I)."""
    kernels = [w * gaussian_kernel(x, c) for w, c in zip(weights, centers, strict=True)]
    total = sp.Add(*kernels)
    return [k / total for k in kernels]


def score_from_definition(x, centers, weights) -> tuple:
    """∇_x log q(x), by differentiating the logarithm of the mixture density."""
    log_q = sp.log(mixture_density(x, centers, weights))
    return tuple(sp.diff(log_q, xa) for xa in x)


def student_score_from_definition(ms: MixtureSymbols) -> tuple:
    return score_from_definition(ms.x, ms.mu, ms.w)


def teacher_score_from_definition(ms: MixtureSymbols) -> tuple:
    return score_from_definition(ms.x, ms.nu, ms.pi)


def posterior_mean_from_definition(ms: MixtureSymbols) -> tuple:
    """m_θ(x) = Σ_i r_i(x) μ_i with the responsibilities written out."""
    r = responsibilities_from_definition(ms.x, ms.mu, ms.w)
    return tuple(sp.Add(*[r[i] * ms.mu[i][a] for i in range(ms.K)]) for a in range(ms.d))


def posterior_mean_jacobian_from_definition(ms: MixtureSymbols, j: int) -> sp.Matrix:
    """∂m_θ/∂μ_j, entry (a, b) = ∂ m_a / ∂ μ_{j,b}, by ``diff``."""
    m = posterior_mean_from_definition(ms)
    return sp.Matrix(ms.d, ms.d, lambda a, b: sp.diff(m[a], ms.mu[j][b]))


def posterior_mean_x_jacobian_from_definition(ms: MixtureSymbols) -> sp.Matrix:
    """∂m_θ/∂x, entry (a, b) = ∂ m_a / ∂ x_b, by ``diff``."""
    m = posterior_mean_from_definition(ms)
    return sp.Matrix(ms.d, ms.d, lambda a, b: sp.diff(m[a], ms.x[b]))


# --- closed forms (in responsibility atoms) ------------------------------------------------------


def posterior_mean(means, resp) -> tuple:
    """m(x) = Σ_i r_i μ_i (student), or Σ_j ρ_j ν_j (teacher)."""
    d = len(means[0])
    return tuple(sp.Add(*[r * mu[a] for r, mu in zip(resp, means, strict=True)]) for a in range(d))


def student_posterior_mean(ms: MixtureSymbols) -> tuple:
    return posterior_mean(ms.mu, ms.r)


def teacher_posterior_mean(ms: MixtureSymbols) -> tuple:
    return posterior_mean(ms.nu, ms.rho)


def student_score(ms: MixtureSymbols) -> tuple:
    """∇ log q_θ(x) = m_θ(x) − x (docs/theory.md, "Notation and conventions")."""
    return sub(student_posterior_mean(ms), ms.x)


def teacher_score(ms: MixtureSymbols) -> tuple:
    """∇ log p(x) = m_p(x) − x."""
    return sub(teacher_posterior_mean(ms), ms.x)


def posterior_mean_jacobian(ms: MixtureSymbols, j: int) -> sp.Matrix:
    """∂m_θ/∂μ_j = r_j [ I + (μ_j − m_θ)(x − μ_j)^T ]  (docs/theory.md, "Gradients")."""
    m = student_posterior_mean(ms)
    u = sub(ms.mu[j], m)
    v = sub(ms.x, ms.mu[j])
    return ms.r[j] * (sp.eye(ms.d) + sp.Matrix(ms.d, ms.d, lambda a, b: u[a] * v[b]))


def posterior_covariance(ms: MixtureSymbols) -> sp.Matrix:
    """Cov_{r(x)}(μ) = Σ_i r_i (μ_i − m)(μ_i − m)^T, the covariance of the means under r(x)."""
    m = student_posterior_mean(ms)
    out = sp.zeros(ms.d, ms.d)
    for i in range(ms.K):
        u = sub(ms.mu[i], m)
        out += ms.r[i] * sp.Matrix(ms.d, ms.d, lambda a, b: u[a] * u[b])
    return out


def responsibility_spread(ms: MixtureSymbols) -> sp.Expr:
    """Σ_i r_i ||μ_i − m_θ||² = tr Cov_{r(x)}(μ)."""
    m = student_posterior_mean(ms)
    return sp.Add(*[ms.r[i] * sq_norm(sub(ms.mu[i], m)) for i in range(ms.K)])


__all__ = [
    "dot",
    "gaussian_kernel",
    "logit_gradient",
    "logits",
    "mixture_density",
    "posterior_covariance",
    "posterior_mean",
    "posterior_mean_from_definition",
    "posterior_mean_jacobian",
    "posterior_mean_jacobian_from_definition",
    "posterior_mean_x_jacobian_from_definition",
    "responsibilities_from_definition",
    "responsibility_spread",
    "score_from_definition",
    "student_posterior_mean",
    "student_score",
    "student_score_from_definition",
    "teacher_posterior_mean",
    "teacher_score",
    "teacher_score_from_definition",
]
