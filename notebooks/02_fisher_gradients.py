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
# # 2. Gradients of F and R
#
# Checks docs/theory.md "Gradients": from the definitions F = E_p||e||², R = E_q||e||² to the closed forms
#
#     ∇_{μ_j} F = E_p[ 2 r_j (e + (x − μ_j)⟨μ_j − m_θ, e⟩) ],
#     ∇_{μ_j} R = E_q[ r_j (x − μ_j)||e||² ] + E_q[ 2 r_j (e + (x − μ_j)⟨μ_j − m_θ, e⟩) ],
#
# the first term of ∇R coming from the moving measure (∇_{μ_j} q_θ = q_θ r_j (x − μ_j)). Then the
# generated code against SymPy, and the quadrature gradient against central finite differences of
# the 40-digit reference.

# %%
import mpmath
import numpy as np
import sympy as sp

from derivations import fisher, proofs, scores
from derivations.symbols import MixtureSymbols
from rfisher import GaussianMixture, pointwise, reference, reverse_fisher

steps = []

# %% [markdown]
# ## Step 1: the moving measure. ∂q_θ/∂μ_j = q_θ r_j (x − μ_j)

# %%
ms = MixtureSymbols(2, 1, 2)
q = scores.mixture_density(ms.x, ms.mu, ms.w)
r = scores.responsibilities_from_definition(ms.x, ms.mu, ms.w)
for j in range(2):
    for a in range(2):
        assert sp.simplify(sp.diff(q, ms.mu[j][a]) - q * r[j] * (ms.x[a] - ms.mu[j][a])) == 0
steps.append(("∂q/∂μ_j = q r_j (x − μ_j)", "exact"))

# %% [markdown]
# ## Step 2: forward gradient, diff of the definition = closed form

# %%
for K, J, d in [(2, 2, 1), (3, 1, 1), (2, 1, 2)]:
    ms = MixtureSymbols(K, J, d)
    lhs = fisher.forward_gradient_integrand_from_definition(ms)
    rhs = fisher.forward_gradient_integrand(ms)
    assert all(proofs.equal_exactly(lhs[j][a], rhs[j][a], ms) for j in range(K) for a in range(d))
steps.append(("∇F integrand: diff == closed form", "exact"))

# %% [markdown]
# ## Step 3: reverse gradient, diff of q·||e||² divided by q = closed form with the moving-measure term

# %%
for K, J, d in [(2, 2, 1), (3, 1, 1), (2, 1, 2)]:
    ms = MixtureSymbols(K, J, d)
    lhs = fisher.reverse_gradient_integrand_from_definition(ms)
    rhs = fisher.reverse_gradient_integrand(ms)
    assert all(proofs.equal_exactly(lhs[j][a], rhs[j][a], ms) for j in range(K) for a in range(d))
# and without the moving-measure term it is wrong
ms = MixtureSymbols(2, 1, 1)
assert not proofs.equal_exactly(fisher.reverse_gradient_integrand_from_definition(ms)[0][0],
                                fisher.forward_gradient_integrand(ms)[0][0], ms)
steps.append(("∇R integrand: diff == closed form (and ≠ without the moving measure)", "exact"))

# %% [markdown]
# ## Step 4: the generated integrand equals the SymPy closed form at a point

# %%
ms = MixtureSymbols(3, 2, 2)
rng = np.random.default_rng(0)
x, mu, nu = rng.normal(size=2), rng.normal(size=(3, 2)) * 2, rng.normal(size=(2, 2))
w, p = np.array([0.2, 0.3, 0.5]), np.array([0.4, 0.6])
outs = [fisher.fisher_integrand(ms)] + [c for g in fisher.reverse_gradient_integrand(ms) for c in g]
rr = scores.responsibilities_from_definition(ms.x, ms.mu, ms.w)
rho = scores.responsibilities_from_definition(ms.x, ms.nu, ms.pi)
vals = {**dict(zip(ms.x, x)), **{ms.mu[i][a]: mu[i, a] for i in range(3) for a in range(2)}, **dict(zip(ms.w, w)),
        **{ms.nu[j][a]: nu[j, a] for j in range(2) for a in range(2)}, **dict(zip(ms.pi, p))}
vals = {k: sp.Float(float(v), 30) for k, v in vals.items()}
ref = np.array([float(sp.N(sp.sympify(o).xreplace(dict(zip(ms.r, rr)) | dict(zip(ms.rho, rho))).xreplace(vals), 30))
                for o in outs])
got = pointwise.integrand("reverse", x[None], mu, w, nu, p)[0]
err = float(np.max(np.abs(got - ref)))
assert err <= 1e-13 * (1 + np.abs(ref).max()), err
steps.append(("generated reverse integrand vs SymPy at 30 digits", f"max error {err:.1e}"))

# %% [markdown]
# ## Step 5: ∇R from quadrature vs central differences of the 40-digit reference R
#
# The central difference (R(μ + h e) − R(μ − h e))/2h has error ≈ h²/6·R''' ; comparing h and h/2 gives
# an estimate of it (Richardson), which with the quadrature's error bound sets the tolerance.

# %%
student = GaussianMixture([[3.0], [-1.0]], [0.3, 0.7])
teacher = GaussianMixture([[0.0], [2.0]], [0.5, 0.5])
got = reverse_fisher(student, teacher)
with mpmath.workdps(40):
    def R_at(m):
        return reference.reverse_fisher(GaussianMixture(m, student.weights), teacher).value

    fd, fd_err = [], []
    for j in range(2):
        e = np.zeros((2, 1))
        e[j, 0] = 1.0
        h = 1e-3
        d1 = (R_at(student.means + h * e) - R_at(student.means - h * e)) / (2 * h)
        d2 = (R_at(student.means + h / 2 * e) - R_at(student.means - h / 2 * e)) / h
        fd.append(float(d2 + (d2 - d1) / 3))  # Richardson: error O(h⁴)
        fd_err.append(float(abs(d2 - d1)) / 3 * (1 / 4))  # next term ~ a quarter of the removed one
gap = np.abs(got.gradient[:, 0] - np.array(fd))
assert np.all(gap <= got.gradient_error[:, 0] + np.array(fd_err) + 1e-14), (gap, fd_err)
steps.append(("∇R (quadrature) vs finite differences of the 40-digit R", f"max gap {gap.max():.1e}"))

# %% [markdown]
# ## Summary

# %%
for name, result in steps:
    print(f"{name:<70} {result}")
assert len(steps) == 5
