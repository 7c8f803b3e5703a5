"""The report's figures (matplotlib, Agg). A claim names its figures (``rfisher.claims.registry``);
``FIGURES[name](path, result, settings)`` draws one from the claim's result and returns the data it drew,
so that results.json holds every number a figure shows."""

from __future__ import annotations

import numpy as np

from rfisher import GaussianMixture
from rfisher.descent import gradient_descent
from rfisher.quadrature import integrate


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: The starts of the reference table of docs/theory.md, C2.
REFERENCE_STARTS = [[3.0, -1.0], [10.0, 0.5], [20.0, 1.0]]


def landscape(path, result=None, settings=None) -> dict:
    """F and R over (μ_1, μ_2) for d = 1, K = 2, w = (½, ½), μ* = 0, with forward and reverse GD paths
    from the reference starts (η = 0.2): the flat region of F that traps a far component."""
    plt = _plt()
    n = 90 if (settings is None or settings.quick) else 180
    lo, hi = -4.0, 22.0
    g = np.linspace(lo, hi, n)
    M1, M2 = np.meshgrid(g, g, indexing="xy")
    means = np.stack([M1.ravel(), M2.ravel()], axis=1)[:, :, None]
    teacher = GaussianMixture.single([0.0])
    surfaces, errors = {}, {}
    for obj in ("forward", "reverse"):
        res = integrate(obj, means, [0.5, 0.5], teacher.means, rtol=1e-8, atol=1e-14)
        surfaces[obj] = res.value[:, 0].reshape(n, n)
        errors[obj] = float(np.max(res.error[:, 0]))
    steps = 2000
    paths = {}
    for obj in ("forward", "reverse"):
        tr = gradient_descent(np.array(REFERENCE_STARTS)[:, :, None], [0.5, 0.5], teacher, objective=obj, step_size=0.2,
                              max_steps=steps, record_every=10)
        paths[obj] = tr.means[..., 0]  # (T, B, 2)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
    for ax, obj, name in ((axes[0], "forward", "F (forward Fisher)"), (axes[1], "reverse", "R (reverse Fisher)")):
        z = np.log10(np.maximum(surfaces[obj], 1e-16))
        im = ax.imshow(z, origin="lower", extent=(lo, hi, lo, hi), cmap="viridis", vmin=-8, vmax=z.max(), aspect="equal")
        fig.colorbar(im, ax=ax, label=f"log10 {name.split()[0]}")
        for label, color in (("forward", "white"), ("reverse", "red")):
            P = paths[label]
            for b in range(P.shape[1]):
                ax.plot(P[:, b, 0], P[:, b, 1], color=color, lw=1.5, label=f"{label} GD" if b == 0 else None)
                ax.plot(P[0, b, 0], P[0, b, 1], "o", color=color, ms=4)
                ax.plot(P[-1, b, 0], P[-1, b, 1], "x", color=color, ms=7)
        ax.set_title(f"{name}, d = 1, K = 2, w = ½, μ* = 0")
        ax.set_xlabel("μ₁")
        ax.set_ylabel("μ₂")
        ax.legend(loc="upper left", fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"grid": g.tolist(), "max_quadrature_error": errors,
            "paths_end": {k: v[-1].tolist() for k, v in paths.items()}, "starts": REFERENCE_STARTS}


def lyapunov(path, result, settings=None) -> dict:
    """Median over C1 runs of each monitored candidate along the trajectory (log scale), per (K, d)."""
    plt = _plt()
    monitors = result.details["monitors"]
    pick = list(monitors)[:4]
    fig, axes = plt.subplots(1, len(pick), figsize=(4 * len(pick), 3.6), constrained_layout=True, squeeze=False)
    data = {}
    for ax, key in zip(axes[0], pick):
        series = monitors[key]
        t = np.maximum(np.asarray(series["steps"]), 1)
        for name, y in series.items():
            if name == "steps":
                continue
            ax.loglog(t, np.maximum(np.asarray(y), 1e-300), label=name)
            data[f"{key} {name}"] = y
        ax.set_title(f"{key} (median over runs)")
        ax.set_xlabel("GD step")
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return data


def rates(path, result, settings=None) -> dict:
    """max_i ||μ_i − μ*|| against t on log–log axes, with the fitted final-phase slope (C1)."""
    from rfisher.statistics import rate_exponent

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    data = {}
    last = 200
    for key, (steps, median) in result.details["curves"].items():
        if key.startswith("K=1 "):
            continue
        t = np.asarray(steps, dtype=float)
        y = np.asarray(median)
        ok = t > 0
        slope = rate_exponent(np.asarray(steps), y)
        ax.loglog(t[ok], y[ok], label=f"{key}: slope {slope:.2f}")
        data[key] = {"slope": slope, "median_distance": y.tolist(), "steps": list(steps)}
        last = max(last, t.max())
    tt = np.logspace(2, np.log10(last), 20)
    ax.loglog(tt, 3 * tt**-0.5, "k--", lw=1, label="∝ t^(−1/2)")
    ax.set_xlabel("GD step t")
    ax.set_ylabel("max_i ||μ_i − μ*|| (median over runs)")
    ax.set_title("Final phase of reverse GD (C1)")
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return data


def separation(path, result, settings=None) -> dict:
    """Success fraction against Δ with 95% Wilson intervals (C3), per (J, K, d), Δ* marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    data = {}
    for key, sweep in result.details["sweeps"].items():
        J, K, d = (int(v) for v in key.split(","))
        seps, frac, intervals, star = sweep["separations"], sweep["fraction"], sweep["interval"], sweep["transition"]
        lo = np.array([i[0] for i in intervals])
        hi = np.array([i[1] for i in intervals])
        f = np.array(frac)
        line = ax.errorbar(seps, f, yerr=[np.maximum(f - lo, 0), np.maximum(hi - f, 0)], marker="o", capsize=3,
                           label=f"J=K={J}, d={d} (Δ* = {star})")
        if star is not None:
            ax.axvline(star, color=line[0].get_color(), ls="--", lw=0.8)
        data[f"J={J} K={K} d={d}"] = {"separations": seps, "fraction": frac, "interval": [list(i) for i in intervals],
                                      "transition": star}
    ax.axhline(0.9, color="gray", ls=":", lw=1)
    ax.set_xlabel("separation Δ = min ||ν_j − ν_k||")
    ax.set_ylabel("P(every component ends at its nearest mode)")
    ax.set_title("C3: nearest-component convergence (reverse GD)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return data


def tv_and_R(path, result, settings=None) -> dict:
    """R and TV at the end of reverse GD for the C4 cases, side by side."""
    plt = _plt()
    rows = [c for c in result.details["cases"] if c["d"] == 1]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    names = [r["case"] for r in rows]
    R = [max(r["R end"][0], 1e-32) for r in rows]
    tv = [r["TV end"][0] for r in rows]
    pred = [r["predicted TV ½Σ|M_j − π_j|"] for r in rows]
    axes[0].bar(names, R, color="tab:blue")
    axes[0].set_yscale("log")
    axes[0].set_title("R at the end (log scale)")
    x = np.arange(len(rows))
    axes[1].bar(x - 0.2, tv, 0.4, label="TV at the end", color="tab:orange")
    axes[1].bar(x + 0.2, pred, 0.4, label="½Σ|M_j − π_j| from the start", color="tab:gray")
    axes[1].set_xticks(x, names)
    axes[1].set_title("TV(q, p) at the end")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"cases": names, "R_end": R, "TV_end": tv, "predicted_TV": pred}


def far_component(path, result, settings=None) -> dict:
    """C2: how far forward GD moves the far component, against its start distance."""
    plt = _plt()
    rows = result.details["rows"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    dist = [r["far start distance"] for r in rows]
    moved = [max(r["far moved (forward)"], 1e-17) for r in rows]
    ax.semilogy(dist, moved, "o")
    ax.axhline(1e-3, color="gray", ls=":", lw=1)
    ax.set_xlabel("start distance of the far component from μ*")
    ax.set_ylabel("distance it moved under forward GD")
    ax.set_title("C2: forward GD leaves a far component in place")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"start_distance": dist, "moved": moved}


def family_scan(path, result, settings=None) -> dict:
    """C5: the falsifier's worst normalised flow derivative over the family V_α, against α and against the
    smallest weight."""
    family = result.details["family"]
    rows = family["rows"]
    return draw_family_scan(path, [r["parameter"] for r in rows], [r["worst"] for r in rows],
                            [r["confirmed"] for r in rows], family["envelopes"])


def draw_family_scan(path, parameters, worst, confirmed, envelopes: dict, floor_sweep: dict | None = None,
                     xlabel: str = "α in V_α = Σ w_i^α ||μ_i − μ*||²") -> dict:
    """Two panels: the worst normalised flow derivative against the family parameter (confirmed violations
    filled), and per parameter the lower envelope of the normalised derivative against the smallest weight
    (``envelopes``: {label: (x, y)}); ``floor_sweep`` ({label: (floors, worst)}) adds targeted runs per
    weight floor. Returns the data drawn."""
    plt = _plt()
    a, c, conf = np.asarray(parameters, float), np.asarray(worst, float), np.asarray(confirmed, bool)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    ax = axes[0]
    ax.plot(a, c, "-", color="0.6", lw=1)
    ax.plot(a[conf], c[conf], "o", color="C3", label="violation confirmed / certified")
    ax.plot(a[~conf], c[~conf], "o", mfc="white", color="C0", label="no confirmed violation")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("worst ⟨∇V, ∇R⟩ / (‖∇V‖ ‖∇R‖)")
    ax.set_title("worst normalised flow derivative found")
    ax.legend(fontsize=8)
    ax = axes[1]
    cmap = plt.get_cmap("viridis")
    for i, (label, (x, y)) in enumerate(envelopes.items()):
        ax.plot(x, y, "-o", ms=2.5, lw=0.8, alpha=0.8, color=cmap(i / max(1, len(envelopes) - 1)), label=f"α = {label}")
    for label, (x, y) in (floor_sweep or {}).items():
        ax.plot(x, y, "-*", color="k", ms=8, lw=1.5, label=label)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xlabel("smallest weight min_i w_i")
    ax.set_ylabel("lower envelope of the normalised derivative")
    ax.set_title("against the smallest weight (every point evaluated)")
    ax.legend(fontsize=7, ncol=2)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {"parameters": a.tolist(), "worst": c.tolist(), "confirmed": conf.tolist(), "envelopes": envelopes,
            "floor_sweep": {k: (list(map(float, x)), list(map(float, y))) for k, (x, y) in (floor_sweep or {}).items()}}


def certified_region(path, result, settings=None) -> dict:
    """C5: the boxes the verifier certified (rfisher.verifier draws them from the claim's details)."""
    from rfisher import verifier

    return verifier.region_figure(path, result.details.get("region", {}))


#: Every figure a claim can name.
FIGURES = {"landscape": landscape, "lyapunov": lyapunov, "rates": rates, "separation": separation,
           "tv_and_R": tv_and_R, "far_component": far_component, "family_scan": family_scan,
           "certified_region": certified_region}
