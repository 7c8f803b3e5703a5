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
# # 6. Mixture teacher
#
# Checks docs/theory.md claims C3 and C4: nearest-component convergence with high probability (fraction
# of seeded runs with a 95% Wilson interval), a small separation sweep, and the TV conditions
# (R ends small whether or not TV does).

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rfisher import mixture_teacher as MT

steps = []

# %% [markdown]
# ## Step 1: C3 at Δ = 8 (d = 1, J = K = 3, 64 seeds)

# %%
r = MT.c3_experiment(3, 3, 1, 8.0, n=64, steps=600)
assert r.interval[0] > 0.9, r.interval
steps.append(("C3 at Δ = 8: success fraction, 95% Wilson", f"{r.fraction:.2f} [{r.interval[0]:.2f}, {r.interval[1]:.2f}]"))
steps.append(("forward GD on the same seeds", f"{r.forward_successes}/{r.n}"))

# %% [markdown]
# ## Step 2: a separation sweep (d = 1, J = K = 2, 40 seeds per Δ)

# %%
res, star = MT.separation_sweep(2, 2, 1, [1.0, 3.0, 6.0], n=40, steps=400)
assert res[-1].interval[0] > 0.9 and res[0].fraction < res[-1].fraction
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar([x.separation for x in res], [x.fraction for x in res],
            yerr=[[max(x.fraction - x.interval[0], 0) for x in res], [max(x.interval[1] - x.fraction, 0) for x in res]],
            marker="o", capsize=3)
ax.set_xlabel("Δ")
ax.set_ylabel("success fraction")
plt.show()
steps.append(("sweep: smallest Δ with lower bound > 0.9", str(star)))

# %% [markdown]
# ## Step 3: C4, R and TV side by side

# %%
for c in MT.c4_cases(d=1):
    assert c.ok, c
    steps.append((f"C4 {c.name}", f"R = {c.final_R:.1e}, TV = {c.tv:.4f} (predicted {c.condition.predicted_tv:.4f})"))

# %% [markdown]
# ## Summary

# %%
for name, result in steps:
    print(f"{name:<50} {result}")
assert len(steps) == 6
