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
# # 1. Mixture scores
#
# Checks docs/theory.md "Notation and conventions": the responsibilities r_i(x) = softmax_i(log w_i − ||x − μ_i||²/2), the
# posterior mean m_θ(x) = Σ r_i μ_i, the score ∇log q_θ(x) = m_θ(x) − x, and their derivatives
# (docs/theory.md "Gradients": ∂m_θ/∂μ_j = r_j [I + (μ_j − m_θ)(x − μ_j)^T]; and ∂m_θ/∂x = Cov_{r(x)}(μ)).
# Algebra is checked exactly (derivations/proofs.py: rational identity in the Gaussian kernels);
# the generated code is checked against the definition evaluated at 30 digits.

# %%
import mpmath
import numpy as np
import sympy as sp

from derivations import proofs, scores
from derivations.symbols import MixtureSymbols
from rfisher import pointwise

steps = []  # (step, result) for the summary

# %% [markdown]
# ## Step 1: the score is m_θ(x) − x
# `score_from_definition` differentiates log q with `sympy.diff`; the closed form uses r atoms.

# %%
for K, d in [(2, 1), (3, 1), (2, 2), (3, 2)]:
    ms = MixtureSymbols(K, 1, d)
    for a, b in zip(scores.student_score_from_definition(ms), scores.student_score(ms)):
        assert proofs.equal_exactly(a, b, ms), (K, d)
steps.append(("∇log q = m_θ − x (K ≤ 3, d ≤ 2)", "exact"))

# %% [markdown]
# ## Step 2: the responsibilities sum to one

# %%
ms = MixtureSymbols(3, 1, 2)
r = scores.responsibilities_from_definition(ms.x, ms.mu, ms.w)
assert sp.simplify(sp.Add(*r) - 1) == 0
steps.append(("Σ r_i = 1", "exact"))

# %% [markdown]
# ## Step 3: the Jacobian of the posterior mean in μ_j

# %%
for K, d in [(2, 1), (3, 2)]:
    ms = MixtureSymbols(K, 1, d)
    for j in range(K):
        lhs = scores.posterior_mean_jacobian_from_definition(ms, j)
        rhs = scores.posterior_mean_jacobian(ms, j)
        assert all(proofs.equal_exactly(lhs[a, b], rhs[a, b], ms) for a in range(d) for b in range(d))
steps.append(("∂m/∂μ_j = r_j[I + (μ_j − m)(x − μ_j)^T]", "exact"))

# %% [markdown]
# ## Step 4: the Jacobian in x is the covariance of the means under r(x)

# %%
ms = MixtureSymbols(3, 1, 2)
lhs = scores.posterior_mean_x_jacobian_from_definition(ms)
rhs = scores.posterior_covariance(ms)
assert all(proofs.equal_exactly(lhs[a, b], rhs[a, b], ms) for a in range(2) for b in range(2))
steps.append(("∂m/∂x = Cov_r(μ)", "exact"))

# %% [markdown]
# ## Step 5: the generated (log-sum-exp) responsibilities match the definition at 30 digits,
# including means 40 and 10⁴ apart (no 0/0, no overflow)

# %%
worst = 0.0
for gap in (1.0, 40.0, 1e4):
    means = np.array([[0.0], [gap], [-gap / 2]])
    w = np.array([0.2, 0.3, 0.5])
    x = np.linspace(-gap, gap, 7)[:, None]
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is the right answer
        got = pointwise.responsibilities(x, means, w)
    with mpmath.workdps(30):
        for xi, row in zip(x[:, 0], got):
            logits = [mpmath.log(wi) - (mpmath.mpf(xi) - m) ** 2 / 2 for wi, m in zip(w, means[:, 0])]
            top = max(logits)
            den = sum(mpmath.exp(l - top) for l in logits)
            ref = [float(mpmath.exp(l - top) / den) for l in logits]
            worst = max(worst, float(np.max(np.abs(row - ref))))
assert worst <= 1e-15, worst  # a few roundings of numbers ≤ 1
steps.append(("generated responsibilities vs 30-digit definition", f"max error {worst:.1e}"))

# %% [markdown]
# ## Summary

# %%
for name, result in steps:
    print(f"{name:<55} {result}")
assert len(steps) == 5
