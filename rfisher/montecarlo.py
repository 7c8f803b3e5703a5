"""Monte Carlo rule for mixture expectations in any dimension, with a standard error.

E_{Σ w_c N(c, I)}[f] = Σ_c w_c E[f(c + z)] is estimated with the same ``samples`` standard normal
draws z for every component and every parameter set (common random numbers), in antithetic
pairs (z, −z). The standard error is √(Σ_c w_c² s_c² / n_pairs) with s_c² the sample variance
of the pair means. Deterministic: a seed gives the same draws bit for bit.

Use it where the grid rule does not reach (reduced dimension above 3); its error is ~1/√n,
against ~1e−12 for the grid rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rfisher import generated_modules
from rfisher.mixture import as_batch
from rfisher.quadrature import OBJECTIVES, centered


@dataclass
class MonteCarloResult:
    value: np.ndarray  # (B, P)
    stderr: np.ndarray  # (B, P)
    nodes: int
    objective: str


def integrate(objective, means, weights, teacher_means, teacher_weights=None, *, samples=2**16, seed=0,
              chunk=2**14) -> MonteCarloResult:
    """Monte Carlo estimate of E[[||e||², gradient integrand]] with its standard error."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if samples < 4 or samples % 2:
        raise ValueError(f"samples must be an even number ≥ 4, got {samples!r}")
    mu, w, nu, p = as_batch(means, weights, teacher_means, teacher_weights)
    mu, nu = centered(mu, nu, p)
    B, K, d = mu.shape
    J = nu.shape[1]
    module = generated_modules.load(K, J, d)
    f = module.reverse_integrand if objective == "reverse" else module.forward_integrand
    centers, cw = (mu, w) if objective == "reverse" else (nu, p)
    n_pairs = samples // 2
    z = np.random.default_rng(seed).standard_normal((n_pairs, d))
    P = module.N_OUTPUTS
    total = np.zeros((B, P))
    var = np.zeros((B, P))
    for c in range(centers.shape[1]):
        s1 = np.zeros((B, P))
        s2 = np.zeros((B, P))
        for start in range(0, n_pairs, chunk):
            zc = z[start:start + chunk]
            args = (mu[:, None], w[:, None], nu[:, None], p[:, None])
            plus = f(centers[:, c][:, None, :] + zc[None], *args)
            minus = f(centers[:, c][:, None, :] - zc[None], *args)
            pair = 0.5 * (plus + minus)
            s1 += pair.sum(axis=1)
            s2 += (pair * pair).sum(axis=1)
        mean = s1 / n_pairs
        v = np.maximum(s2 / n_pairs - mean * mean, 0.0) * n_pairs / (n_pairs - 1)
        total += cw[:, c][:, None] * mean
        var += cw[:, c][:, None] ** 2 * v / n_pairs
    return MonteCarloResult(value=total, stderr=np.sqrt(var), nodes=samples * centers.shape[1], objective=objective)
