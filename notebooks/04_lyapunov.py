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
# # 4. The Lyapunov argument: U = ||θ − θ*||²
#
# Checks docs/theory.md claim C5 ("Lyapunov candidates", I6, I8). The candidate, named before any
# measurement, is U(θ) = Σ_i ||μ_i − μ*||². Along the gradient flow dU/dt = −2⟨θ − θ*, ∇R⟩, so U is a
# Lyapunov function iff R increases along every ray from θ*. This notebook derives the flow derivative and
# the one-step change symbolically, expands ⟨θ − θ*, ∇R⟩ to leading order near θ*, certifies it positive on
# a region in ball arithmetic, attacks it with the falsifier, and shows why the weighted candidates fail.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from derivations import lyapunov as L
from derivations import near_optimum as N
from derivations.symbols import MixtureSymbols
from rfisher import GaussianMixture, falsifier, verifier
from rfisher.descent import gradient_descent

steps = []

# %% [markdown]
# ## Step 1: dU/dt = −2⟨θ − θ*, g⟩ and ΔU = −2η⟨θ − θ*, g⟩ + η²||g||², exactly
# (g = ∇R at θ; U is the member α = 0 of the family V_α = Σ w_i^α ||μ_i − μ*||².)

# %%
ms = MixtureSymbols(3, 1, 2)
U = L.unweighted_distance(ms)
inner = sum((ms.mu[i][a] - ms.target[a]) * ms.g[i][a] for i in range(3) for a in range(2))
assert sp.expand(L.flow_derivative(ms, U) + 2 * inner) == 0
assert sp.expand(L.unweighted_distance_change(ms) - L.one_step_change(ms, U)) == 0
assert sp.expand(L.weighted_family(ms, 0) - U) == 0
eta_star = L.weighted_family_critical_step(ms, 0)
assert sp.simplify(L.unweighted_distance_change(ms).subs(ms.eta, eta_star)) == 0
steps.append(("dU/dt = −2⟨θ−θ*, g⟩, ΔU closed form, η* = 2⟨θ−θ*, g⟩/||g||²", "exact"))

# %% [markdown]
# ## Step 2: near θ*, ⟨θ − θ*, ∇R⟩ = 2δ² + 4C² + O(s⁶) > 0 (leading order)
# K = 2, d = 1: δ = μ̄ − μ*, s = μ₁ − μ₂, C = w(1 − w)s² the weighted covariance of the means. R = δ² + G(s, w) and
# ⟨θ − θ*, ∇R⟩ = 2δ² + s∂_sG; the series of G (term-by-term Gaussian moments of the Taylor series of the
# responsibilities) starts at C², so s∂_sG starts at 4C² (docs/theory.md, "Near the optimum").

# %%
G, h = N.spread_series(8)
C = N.weighted_covariance()
assert sp.expand(G.coeff(N.S, 4) * N.S**4 - C**2) == 0
assert sp.expand(h.coeff(N.S, 4) * N.S**4 - 4 * C**2) == 0
assert all(G.coeff(N.S, k) == 0 and h.coeff(N.S, k) == 0 for k in range(4))
rel = sp.factor(G.coeff(N.S, 6) / G.coeff(N.S, 4))
assert sp.expand(rel - (6 * N.W**2 - 6 * N.W + 1) / 2) == 0
steps.append(("G = C²(1 + (6w² − 6w + 1)s²/2 + …), s∂_sG = 4C² + O(s⁶)", "exact series"))

# %% [markdown]
# ## Step 3: ⟨θ − θ*, ∇R⟩ > 0 certified on a region, in ball arithmetic
# Branch and bound over boxes of (s, w) (rfisher/verifier.py): every box's lower bound of 2δ² + s∂_sG is positive.
# The quick region: 0.1 ≤ ||θ − θ*|| ≤ 5, w ∈ [0.1, 0.9].

# %%
region = verifier.report_region(quick=True)
assert region.complete and region.certified_boxes > 0, region.summary()
assert region.min_lower > 0 and region.eta_max > 0.3  # every C1 step (η = 0.3) from the region decreases U
verifier.region_figure("/tmp/rfisher_nb04_region.png", region.details())
steps.append(("⟨θ − θ*, ∇R⟩ > 0 certified (quick region)", region.summary()))

# %% [markdown]
# ## Step 4: the falsifier finds no violation of the flow condition nor of the one-step condition at η = 0.3
# A search of hypothesis' targeted examples on the normalised derivative ⟨∇U, ∇R⟩/(||∇U|| ||∇R||), refined
# locally (docs/theory.md, "Falsifier"). A small budget here; the report's C5 row runs the full one.

# %%
found = falsifier.falsify("U", budget=100, eta=0.3, K_range=(2, 3), d_range=(1, 2), seed=0,
                          search_nodes=30_000_000, refine_nodes=10_000_000)
assert not found.violated, found.summary()
worst = found.flow.worst_evaluation.normalised
assert 0 <= worst < 0.2  # the infimum is 0, approached as the smallest weight → 0 (docs/theory.md, C5)
steps.append(("falsifier on U (100 examples, K ≤ 3, d ≤ 2)", f"no violation; worst cosine {worst:.2e}"))

# %% [markdown]
# ## Step 5: the weighted candidates are refuted, and the falsifier proves it
# V_w = Σ w_i||μ_i − μ*||² increases along the gradient flow at θ = (−0.01, 0.0001), w = (0.01, 0.99):
# ⟨∇V_w, ∇R⟩ < 0 there, certified in ball arithmetic. A light component on one side and a heavy one
# just off μ* on the other: the heavy one's move towards μ* is outweighed by the light one moving away.
# The same search refutes V_max and V_bar.

# %%
point = falsifier.Configuration.of([[-0.01], [0.0001]], [0.01, 0.99])
conf = falsifier.confirm("V_w", point, falsifier.FLOW)
assert conf.confirmed, conf
conf_u = falsifier.confirm("U", point, falsifier.FLOW)
assert not conf_u.confirmed  # at the same point U decreases: ⟨θ − θ*, ∇R⟩ > 0
steps.append(("V_w refuted at θ = (−0.01, 0.0001), w = (0.01, 0.99)", conf.status))
for name in ("V_max", "V_bar"):
    r = falsifier.falsify(name, budget=100, K_range=(2, 3), d_range=(1, 2), seed=0,
                          search_nodes=30_000_000, refine_nodes=10_000_000)
    assert r.refuted, r.summary()
    steps.append((f"{name} refuted by the falsifier", r.flow.confirmation.status))

# %% [markdown]
# ## Step 6: U and R along trajectories (d = 1, K = 3, η = 0.3)

# %%
starts = np.array([[[8.0], [-3.0], [1.0]], [[20.0], [20.0], [-15.0]], [[0.5], [0.4], [-0.2]]])
tr = gradient_descent(starts, [0.2, 0.3, 0.5], GaussianMixture.single([0.0]), step_size=0.3, max_steps=1500,
                      monitors=["U", "R"], record_every=5)
assert np.all(tr.n_increases["U"] == 0) and np.all(tr.n_increases["R"] == 0)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for b in range(3):
    axes[0].loglog(tr.record_steps + 1, tr.monitors["U"][:, b])
    axes[1].loglog(tr.record_steps + 1, tr.monitors["R"][:, b])
axes[0].set_title("U along GD")
axes[1].set_title("R along GD")
plt.show()
steps.append(("U and R never increase on these trajectories", "checked"))

# %% [markdown]
# ## Summary

# %%
for name, result in steps:
    print(f"{name:<70} {result}")
assert len(steps) == 8
