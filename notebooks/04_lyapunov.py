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
# # 4. The Lyapunov argument
#
# Checks docs/theory.md claim C5: the one-step change of V_w = Σ w_i||μ_i − μ*||² under GD in closed form;
# where its sign is proven (K = 1) and where it is only checked (along trajectories); the
# counterexamples found for the candidates, V_w included; plots of V_w and R along trajectories.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from derivations import lyapunov as L
from derivations.symbols import MixtureSymbols
from rfisher import GaussianMixture, counterexamples
from rfisher.counterexamples import StepConfig
from rfisher.descent import gradient_descent

steps = []

# %% [markdown]
# ## Step 1: ΔV_w = −2η Σ w_i⟨μ_i − μ*, g_i⟩ + η² Σ w_i||g_i||², exactly

# %%
ms = MixtureSymbols(3, 1, 2)
assert sp.expand(L.weighted_distance_change(ms) - L.one_step_change(ms, L.weighted_distance(ms))) == 0
steps.append(("ΔV_w closed form", "exact"))

# %% [markdown]
# ## Step 2: the sign is proven for K = 1
# With one component R(μ) = ||μ − μ*||² exactly (r ≡ 1, e = μ − μ*), so g = 2(μ − μ*) and
# ΔV_w = −4η(1 − η)||μ − μ*||² < 0 for 0 < η < 1.

# %%
ms1 = MixtureSymbols(1, 1, 2)
g = {ms1.g[0][a]: 2 * (ms1.mu[0][a] - ms1.target[a]) for a in range(2)}
dv = L.weighted_distance_change(ms1).xreplace(g).subs(ms1.w[0], 1)
dist2 = sum((ms1.mu[0][a] - ms1.target[a]) ** 2 for a in range(2))
assert sp.simplify(dv - (-4 * ms1.eta * (1 - ms1.eta) * dist2)) == 0
steps.append(("K = 1: ΔV_w = −4η(1 − η)||μ − μ*||²", "proved"))

# %% [markdown]
# ## Step 3: for K ≥ 2 the sign is only checked, and it can fail
# Along trajectories from random starts V_w decreased at every step; but the counterexample
# search finds one-step increases, and the configuration below increases V_w to first order.

# %%
dv, slack = counterexamples.one_step("V_w", StepConfig(((0.0,), (0.1,), (-0.03,)), (0.85, 0.05, 0.1), (0.0,), 0.01))
assert dv > slack
steps.append(("V_w increases at θ=(0, 0.1, −0.03), w=(.85,.05,.1), η=0.01", f"ΔV_w = {dv:.2e} > slack {slack:.0e}"))
for name, cfg in [(n, c) for n, c in counterexamples.KNOWN_COUNTEREXAMPLES if n in ("V_max", "V_bar")]:
    dv, slack = counterexamples.one_step(name, cfg)
    assert dv > slack
    steps.append((f"{name} refuted", f"ΔV = {dv:.2e} > slack {slack:.0e}"))

# %% [markdown]
# ## Step 4: V_w and R along trajectories (d = 1, K = 3, η = 0.3)

# %%
starts = np.array([[[8.0], [-3.0], [1.0]], [[20.0], [20.0], [-15.0]], [[0.5], [0.4], [-0.2]]])
tr = gradient_descent(starts, [0.2, 0.3, 0.5], GaussianMixture.single([0.0]), step_size=0.3, max_steps=1500,
                      monitors=["V_w", "R"], record_every=5)
assert np.all(tr.n_increases["V_w"] == 0) and np.all(tr.n_increases["R"] == 0)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for b in range(3):
    axes[0].loglog(tr.record_steps + 1, tr.monitors["V_w"][:, b])
    axes[1].loglog(tr.record_steps + 1, tr.monitors["R"][:, b])
axes[0].set_title("V_w along GD")
axes[1].set_title("R along GD")
plt.show()
steps.append(("V_w and R never increase on these trajectories", "checked"))

# %% [markdown]
# ## Summary

# %%
for name, result in steps:
    print(f"{name:<60} {result}")
assert len(steps) == 6
