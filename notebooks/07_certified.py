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
# # 7. Certified numbers
#
# Checks docs/theory.md identity I9 (certified values exist) and turns the floating-point findings of
# notebook 4 into proofs: balls, computed with python-flint's arb, that provably contain R and ∇R
# (rigorous integration on windows around the means plus an explicit Gaussian tail bound; see
# `rfisher/certified.py`), the sign of one-step Lyapunov changes, and a GD trajectory on which
# every step's decrease of V_w is certified.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mpmath
import numpy as np
import sympy as sp
from flint import arb, ctx

from derivations import scores
from derivations.symbols import MixtureSymbols
from rfisher import GaussianMixture, certified, reference
from rfisher.counterexamples import KNOWN_COUNTEREXAMPLES
from rfisher.quadrature import integrate

steps = []
TEACHER = GaussianMixture.single([0.0])

# %% [markdown]
# ## Step 1: the digits of docs/theory.md (I9), proved
# At μ = (3, −1), w = (½, ½), μ* = 0 the 128-bit balls lie inside the intervals the digits of I9
# state, and contain the 40-digit mpmath reference (an independent code path).

# %%
enc = certified.reverse_fisher(GaussianMixture([[3.0], [-1.0]], [0.5, 0.5]), TEACHER, prec=128)
print("R  ∈", enc.value.str(32, radius=True))
print("∇R ∈", [row[0].str(22, radius=True) for row in enc.gradient])
with ctx.workprec(128):
    assert enc.value.lower() >= arb("4.72561036483704474390478527")
    assert enc.value.upper() <= arb("4.72561036483704474390478528")
with mpmath.workdps(40):
    ref = reference.reverse_fisher(GaussianMixture([[3.0], [-1.0]], [0.5, 0.5]), TEACHER)
    for ball, exact in zip([enc.value] + [row[0] for row in enc.gradient], [ref.value] + [g[0] for g in ref.gradient]):
        assert abs(mpmath.mpf(ball.mid().str(45, radius=False)) - exact) <= float(ball.rad()) + ref.error
steps.append(("R(3, −1) inside the digits of I9; radius", f"{enc.radius():.1e}"))

# %% [markdown]
# ## Step 2: collinear configurations reduce to d = 1
# With every mean on the line c + t u and x = c + s u + y v (v ⟂ u), the responsibilities do not
# depend on y: the common factor exp(−y²/2) cancels. (The full proof, including the integrands,
# is `tests/test_certified.py::test_collinear_reduction_is_exact_symbolically`.)

# %%
two = MixtureSymbols(2, 1, 2)
c0, c1, s, y, t0, t1 = sp.symbols("c0 c1 s y t0 t1", real=True)
u, v = (sp.Rational(3, 5), sp.Rational(4, 5)), (-sp.Rational(4, 5), sp.Rational(3, 5))
x = (c0 + s * u[0] + y * v[0], c1 + s * u[1] + y * v[1])
mus = [(c0 + t * u[0], c1 + t * u[1]) for t in (t0, t1)]
r = scores.responsibilities_from_definition(x, mus, two.w)
assert all(sp.simplify(sp.diff(ri, y)) == 0 for ri in r)
steps.append(("responsibilities independent of the perpendicular coordinate", "proved"))

# %% [markdown]
# Numerically: means on the line (1, 2)·t in R², certified through the reduction, against the
# 2-D floating-point quadrature with its error estimate.

# %%
student = GaussianMixture([[0.5, 1.0], [-1.0, -2.0]], [0.25, 0.75])
teacher = GaussianMixture.single([1.0, 2.0])
enc2 = certified.reverse_fisher(student, teacher, prec=96)
q = integrate("reverse", student.means[None], student.weights, teacher.means)
value, grad = enc2.mid()
assert abs(q.value[0, 0] - value) <= q.error[0, 0] + enc2.radius()
assert np.all(np.abs(q.value[0, 1:] - grad.ravel()) <= q.error[0, 1:] + enc2.radius())
steps.append(("2-D collinear: certified = 2-D quadrature within its error", f"|Δ| = {abs(q.value[0, 0] - value):.1e}"))

# %% [markdown]
# ## Step 3: the refuted candidates' counterexamples are certified increases
# θ' = θ − η∇R(θ) is computed in ball arithmetic; ΔV is the closed form of derivations/lyapunov.py
# (or V(θ') − V(θ)) on balls. On the same steps R certifiably decreases.

# %%
for name, cfg in KNOWN_COUNTEREXAMPLES:
    out = certified.certify_step([m[0] for m in cfg.means], cfg.weights, cfg.target[0], cfg.eta,
                                 candidates=(name, "R"), prec=53)
    assert out[name].verdict == certified.INCREASE and out["R"].verdict == certified.DECREASE
    print(f"{name:6} means={[m[0] for m in cfg.means]} η={cfg.eta}: Δ ∈ {out[name].change.str(10, radius=True)}")
    steps.append((f"{name} increase certified (η = {cfg.eta})", out[name].change.str(6, radius=True)))

# %% [markdown]
# ## Step 4: a trajectory on which every decrease of V_w is certified
# From μ = (3, −1), w = (½, ½), μ* = 0, η = 0.3: each visited point is a double within the
# "shadow" distance of the exact GD step from the previous point, and ΔV_w < 0 is certified at
# each step.

# %%
tr = certified.certified_trajectory([3.0, -1.0], [0.5, 0.5], 0.0, 0.3, 100, prec=53)
assert tr.stopped is None and tr.certified_steps == 100
upper = np.array([float(c.upper()) for c in tr.changes])  # every ΔV_w ≤ upper < 0
assert np.all(upper < 0)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(np.arange(1, 101), -upper)
ax.set_xlabel("step")
ax.set_ylabel("certified lower bound on −ΔV_w")
ax.set_title("Every step decreases V_w (proved)")
plt.show()
steps.append(("100 GD steps with ΔV_w < 0 certified", f"shadow ≤ {tr.shadow.max():.1e}"))

# %% [markdown]
# ## Summary

# %%
for name, result in steps:
    print(f"{name:<62} {result}")
assert len(steps) == 4 + len(KNOWN_COUNTEREXAMPLES)
