"""Statistics of the claim checks: binomial intervals, the rate fit, the √log fits (docs/theory.md,
"Claims"). Probabilistic claims are reported as a fraction of seeded runs with a 95% Wilson interval,
never as one lucky run."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion."""
    if n == 0:
        return (0.0, 1.0)
    phat = successes / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate_exponent(steps: np.ndarray, dist: np.ndarray) -> float:
    """Slope of log dist against log t over the final phase (dist < 1 and t ≥ 100, last half of it).

    NaN when the distance reaches 1e−8 (geometric convergence, as for K = 1 where R = ||μ − μ*||²)."""
    if np.nanmin(dist) < 1e-8:
        return float("nan")
    ok = (dist < 1.0) & (steps >= 100) & (dist > 0)
    if ok.sum() < 4:
        return float("nan")
    t, y = np.log(steps[ok]), np.log(dist[ok])
    t, y = t[len(t) // 2:], y[len(y) // 2:]
    if len(t) < 3:
        return float("nan")
    return float(np.polyfit(t, y, 1)[0])


def median_interval(values, z: float = Z95) -> tuple[float, float, float]:
    """The median of ``values`` and a distribution-free 95% interval for it (order statistics of the
    binomial(n, ½) count below the median)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    half = z * math.sqrt(n) / 2
    lo = max(0, int(math.floor(n / 2 - half)))
    hi = min(n - 1, int(math.ceil(n / 2 + half)))
    return (float(np.median(x)), float(x[lo]), float(x[hi]))


def sqrt_log_fit(xs, deltas):
    """Least-squares fit Δ*(x) = a + b √(log x); returns (a, b, max |residual|)."""
    x = np.sqrt(np.log(np.asarray(xs, dtype=float)))
    A = np.stack([np.ones_like(x), x], axis=1)
    coef, *_ = np.linalg.lstsq(A, np.asarray(deltas, dtype=float), rcond=None)
    res = np.asarray(deltas) - A @ coef
    return float(coef[0]), float(coef[1]), float(np.max(np.abs(res)))


def threshold(values, outcomes, level: float = 0.9):
    """The smallest value whose group of outcomes has a Wilson lower bound above ``level``, with the
    grid neighbour below it: (threshold or None, value below it or None). values, outcomes: one per run."""
    values = np.asarray(values, dtype=float)
    outcomes = np.asarray(outcomes, dtype=bool)
    grid = np.unique(values)
    above = [v for v in grid if wilson_interval(int(outcomes[values == v].sum()), int((values == v).sum()))[0] > level]
    if not above:
        return None, None
    star = min(above)
    below = grid[grid < star]
    return float(star), (float(below.max()) if below.size else None)
