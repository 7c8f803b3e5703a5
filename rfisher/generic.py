"""Generic numpy integrands for any (K, J, d): the hand-written twin of the generated code.

These formulas duplicate the closed forms of ``derivations/fisher.py`` on purpose: they exist
to cross-check the generated modules (tests assert agreement to 1e-12) and as an independent
backend (``quadrature.integrate_numpy``). rfisher's own computations use the generated code.

Shapes: x (..., d), means (..., K, d), weights (..., K), teacher_means (..., J, d),
teacher_weights (..., J); leading dimensions broadcast.
"""

from __future__ import annotations

import numpy as np


def responsibilities(x, means, weights):
    """softmax_i(log w_i − ||x − μ_i||²/2) in log-sum-exp form, shape (..., K)."""
    x = np.asarray(x, dtype=float)
    logits = np.log(weights) - 0.5 * np.sum((x[..., None, :] - means) ** 2, axis=-1)
    logits = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / np.sum(e, axis=-1, keepdims=True)


def posterior_mean(x, means, weights):
    """m(x) = Σ_i r_i(x) μ_i, shape (..., d)."""
    r = responsibilities(x, means, weights)
    return np.einsum("...k,...kd->...d", r, np.broadcast_to(means, r.shape + means.shape[-1:]))


def score_gap(x, means, weights, teacher_means, teacher_weights):
    """e(x) = m_θ(x) − m_p(x)."""
    return posterior_mean(x, means, weights) - posterior_mean(x, teacher_means, teacher_weights)


def _parts(x, means, weights, teacher_means, teacher_weights):
    x = np.asarray(x, dtype=float)
    r = responsibilities(x, means, weights)
    mu = np.broadcast_to(means, r.shape + means.shape[-1:])
    m = np.einsum("...k,...kd->...d", r, mu)
    e = m - posterior_mean(x, teacher_means, teacher_weights)
    ee = np.sum(e * e, axis=-1)
    x_mu = x[..., None, :] - mu  # x − μ_j, (..., K, d)
    inner = np.sum((mu - m[..., None, :]) * e[..., None, :], axis=-1)  # ⟨μ_j − m, e⟩, (..., K)
    fixed = 2 * r[..., None] * (e[..., None, :] + x_mu * inner[..., None])
    return r, ee, x_mu, fixed


def forward_integrand(x, means, weights, teacher_means, teacher_weights):
    """[||e||², 2 r_j (e + (x − μ_j)⟨μ_j − m_θ, e⟩)], shape (..., 1 + K·d)."""
    r, ee, x_mu, fixed = _parts(x, means, weights, teacher_means, teacher_weights)
    grad = fixed.reshape(fixed.shape[:-2] + (-1,))
    return np.concatenate([ee[..., None], grad], axis=-1)


def reverse_integrand(x, means, weights, teacher_means, teacher_weights):
    """[||e||², r_j (x − μ_j)||e||² + 2 r_j (e + (x − μ_j)⟨μ_j − m_θ, e⟩)], shape (..., 1 + K·d)."""
    r, ee, x_mu, fixed = _parts(x, means, weights, teacher_means, teacher_weights)
    grad = (r[..., None] * x_mu * ee[..., None, None] + fixed)
    grad = grad.reshape(grad.shape[:-2] + (-1,))
    return np.concatenate([ee[..., None], grad], axis=-1)
