# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. The identities (single-Gaussian teacher p = N(μ*, I))
#
# Checks docs/theory.md "Identities" I1–I5: Stein, the student's Fisher information, the
# decomposition of R, R = 0 iff every μ_i = μ*, and the sum rule. Each is split into a pointwise
# algebraic part (exact, derivations/identities.py) and an expectation step, checked numerically
# with the grid rule; tolerances are the rule's error estimates.

# %%
import numpy as np
import sympy as sp

from derivations import identities, proofs, scores
from derivations.symbols import MixtureSymbols
from rfisher import GaussianMixture, pointwise, reverse_fisher
from rfisher.quadrature import expectation

steps = []
ms = MixtureSymbols(3, 1, 2)

# %% [markdown]
# ## Step 1 (Stein, pointwise): div(q ∇log p) = q⟨∇log q, ∇log p⟩ + q Δlog p

# %%
assert sp.simplify(proofs.definition_as_rational(identities.stein_pointwise_residual(ms), ms)) == 0
steps.append(("Stein, pointwise", "exact"))

# %% [markdown]
# ## Step 2 (Fisher information, pointwise): Δ log q = −d + tr Cov_{r(x)}(μ)

# %%
assert proofs.equal_exactly(identities.laplacian_log_q_from_definition(ms), identities.laplacian_log_q(ms), ms)
steps.append(("Δ log q = −d + tr Cov_r(μ)", "exact"))

# %% [markdown]
# ## Step 3 (decomposition, pointwise): ||m − μ*||² = Σ r_i||μ_i − μ*||² − Σ r_i||μ_i − m||², and q r_i = w_i N(μ_i, I)

# %%
assert proofs.responsibilities_sum_to_one(identities.decomposition_residual(ms), ms) == 0
assert all(sp.cancel(proofs.definition_as_rational(identities.responsibility_times_density_residual(ms, i), ms)) == 0
           for i in range(3))
steps.append(("decomposition and E_q[r_i ·] = w_i E_i[·], pointwise", "exact"))

# %% [markdown]
# ## Step 4 (translation, pointwise): m_{θ+t}(x + t) = m_θ(x) + t

# %%
assert all(sp.simplify(c) == 0 for c in identities.posterior_mean_equivariance_residual(ms))
steps.append(("posterior mean is translation-equivariant", "exact"))

# %% [markdown]
# ## Step 5: the expectation steps, numerically (d = 2, K = 3)

# %%
student = GaussianMixture([[2.0, 1.0], [-1.0, 0.5], [0.3, -2.0]], [0.2, 0.3, 0.5])
teacher = GaussianMixture.single([0.3, -0.2])
mu_star = teacher.means[0]
K, d = 3, 2
m_sym = scores.student_posterior_mean(ms)
f = sp.lambdify([*ms.x, *[c for row in ms.mu for c in row], *ms.nu[0], *ms.r],
                [identities.stein_integrand(ms), identities.student_fisher_integrand(ms), identities.spread_integrand(ms),
                 *m_sym, sum(c**2 for c in m_sym)], modules="numpy")


def g(x):
    r = pointwise.responsibilities(x, student.means, student.weights)
    cols = f(*x.T, *student.means.ravel(), *mu_star, *r.T)
    return np.stack([np.broadcast_to(c, x.shape[:1]) for c in cols], axis=1)


val, err = expectation(g, student.means, student.weights, teacher.means, teacher.weights)
R = reverse_fisher(student, teacher)
V_w = float(student.weights @ np.sum((student.means - mu_star) ** 2, axis=1))
stein, fisher_q, spread, m_mean, m_sq = val[0], val[1], val[2], val[3:5], val[5]
assert abs(stein - d) <= err[0] + 1e-13
assert abs(fisher_q - (d - spread)) <= err[1] + err[2] + 1e-13
assert np.all(np.abs(m_mean - student.mean) <= err[3:5] + 1e-13)
assert abs(R.value - (V_w - spread)) <= R.value_error + err[2] + 1e-13
var_m = m_sq - student.mean @ student.mean
assert abs(R.value - (np.sum((student.mean - mu_star) ** 2) + var_m)) <= R.value_error + err[5] + 1e-12
steps.append(("E_q⟨∇log q, ∇log p⟩ = d", f"{stein:.15f} ± {err[0]:.0e}"))
steps.append(("E_q||∇log q||² = d − E tr Cov", f"gap {abs(fisher_q - (d - spread)):.1e}"))
steps.append(("R = V_w − E_q Σ r_i||μ_i − m||² = ||μ̄ − μ*||² + Var m", f"R = {R.value:.12f}"))

# %% [markdown]
# ## Step 6: R = 0 iff all μ_i = μ*, and the sum rule Σ_j ∇_{μ_j} R = 2(μ̄ − μ*)

# %%
at_opt = reverse_fisher(student.with_means(np.repeat(teacher.means, 3, axis=0)), teacher)
assert at_opt.value == 0.0 and np.all(at_opt.gradient == 0)
assert R.value >= np.sum((student.mean - mu_star) ** 2) - R.value_error > 0
total = R.gradient.sum(axis=0)
assert np.all(np.abs(total - 2 * (student.mean - mu_star)) <= R.gradient_error.sum(axis=0) + 1e-13)
steps.append(("R = 0 at the optimum, > 0 elsewhere", "exact 0 / positive"))
steps.append(("sum rule", f"{total} vs {2 * (student.mean - mu_star)}"))

# %% [markdown]
# ## Summary

# %%
for name, result in steps:
    print(f"{name:<60} {result}")
assert len(steps) == 9
