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
# # 5. Forward versus reverse landscape (d = 1, K = 2, w = ½, μ* = 0)
#
# Checks docs/theory.md claim C2's mechanism: heatmaps of F and R over (μ₁, μ₂) with GD paths; the flat
# region of F that traps a far component; R has no such region.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rfisher import GaussianMixture, forward_fisher, reverse_fisher
from rfisher.descent import gradient_descent
from rfisher.quadrature import integrate
from rfisher.tv import total_variation

steps = []
teacher = GaussianMixture.single([0.0])

# %% [markdown]
# ## Step 1: the surfaces

# %%
g = np.linspace(-4, 22, 60)
M1, M2 = np.meshgrid(g, g)
means = np.stack([M1.ravel(), M2.ravel()], axis=1)[:, :, None]
F = integrate("forward", means, [0.5, 0.5], teacher.means, rtol=1e-8, atol=1e-14).value[:, 0].reshape(60, 60)
R = integrate("reverse", means, [0.5, 0.5], teacher.means, rtol=1e-8, atol=1e-14).value[:, 0].reshape(60, 60)
assert np.all(F >= 0) and np.all(R >= 0)
steps.append(("F, R ≥ 0 on the grid", "checked"))

# %% [markdown]
# ## Step 2: the flat region. At μ = (20, 0): F and ∂F/∂μ₁ are of order exp(−20²/8) (the p-mass at the
# transition, halfway), while TV(q, p) ≈ ½ and R is large

# %%
s = GaussianMixture([[20.0], [0.0]], [0.5, 0.5])
f, r = forward_fisher(s, teacher, atol=1e-300), reverse_fisher(s, teacher)
tv = total_variation(s, teacher)
scale = np.exp(-(20.0**2) / 8) * 20.0**3  # φ at the transition times the integrand's polynomial size
assert f.value < scale and abs(f.gradient[0, 0]) < scale
assert abs(tv.value - 0.5) < 1e-10
assert r.value > 100 and abs(r.gradient[0, 0] - 2 * 0.5 * 20) < 1e-9  # ∇_1 R = 2 w_1 (μ_1 − μ*) when far apart
steps.append(("at (20, 0): F, ∂F/∂μ₁ < e^(−50)·20³; TV = ½; ∂R/∂μ₁ = 20", f"F = {f.value:.1e}"))

# %% [markdown]
# ## Step 3: GD paths on the surfaces

# %%
starts = np.array([[[3.0], [-1.0]], [[10.0], [0.5]], [[20.0], [1.0]]])
paths = {obj: gradient_descent(starts, [0.5, 0.5], teacher, objective=obj, step_size=0.2, max_steps=2000, record_every=20)
         for obj in ("forward", "reverse")}
assert np.all(np.abs(np.abs(paths["reverse"].final_means[..., 0]) - 0.025) < 2e-4)
assert abs(paths["forward"].final_means[2, 0, 0] - 20.0) < 1e-3
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
for ax, Z, name in ((axes[0], F, "log10 F"), (axes[1], R, "log10 R")):
    im = ax.imshow(np.log10(np.maximum(Z, 1e-16)), origin="lower", extent=(-4, 22, -4, 22), vmin=-8)
    fig.colorbar(im, ax=ax, label=name)
    for obj, color in (("forward", "white"), ("reverse", "red")):
        P = paths[obj].means[..., 0]
        for b in range(3):
            ax.plot(P[:, b, 0], P[:, b, 1], color=color)
plt.show()
steps.append(("reverse ends at ±0.025 from every start; forward keeps (20, ·)", "checked"))

# %% [markdown]
# ## Summary

# %%
for name, result in steps:
    print(f"{name:<60} {result}")
assert len(steps) == 3
