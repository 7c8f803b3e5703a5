"""How sharp is the quadrature's error estimate? J = K = 3, d = 2 (issue 13's case), against the mpmath reference.

    NUMBA_NUM_THREADS=1 python benchmarks/estimate_sharpness.py [--dps 20] [--sets 8]

For parameter sets of ``benchmarks/bench_mixture.py``'s J3K3d2 case (the first half: starts within radius 6;
the second half: the same after 20 reverse GD steps), the reverse objective and its gradient at rtol 1e−10,
atol 1e−12, one pass (no refinement) with the inner and outer step factors of the a priori plan set to
f_in, f_out ∈ {1, 1.5, 2, 3} (as a GD trajectory's plan would, ``rfisher.quadrature.grown_step``).
Per row: nodes; the largest, over the P outputs, of the true error over its allowance rtol·scale + atol,
of the reported error over its allowance (> 1: the pass is refined), and of the true error over the
reported error (> 1: the estimate under-estimates; docs/theory.md, "Error bounds"). The last line is the
largest of the latter. About 2–3 minutes of reference per set.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rfisher import GaussianMixture, reference
from rfisher.descent import gradient_descent, random_initializations
from rfisher.quadrature import centered, integrate_prepared


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dps", type=int, default=20, help="digits of the reference (default 20)")
    parser.add_argument("--sets", type=int, default=8, help="parameter sets, half of them after 20 GD steps")
    args = parser.parse_args()
    corners = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 3.0 * 3**0.5]])
    nu = corners - corners.mean(axis=0)
    teacher = GaussianMixture(nu, None)
    pi = np.full((1, 3), 1 / 3)
    w = np.linspace(1, 2, 3) / np.linspace(1, 2, 3).sum()
    init = random_initializations(0, args.sets // 2, 3, 2, 6.0)
    tr = gradient_descent(init, w, teacher, step_size=0.3, max_steps=20, rtol=1e-10, atol=1e-12, progress=False)
    print("set  f_in  f_out    nodes  true/allowed  estimate/allowed  true/estimate  reference s")
    worst = 0.0
    for i, mu in enumerate([*init, *tr.final_means]):
        t = time.perf_counter()
        ref = reference.reverse_fisher(GaussianMixture(mu, w), teacher, dps=args.dps)
        seconds = time.perf_counter() - t
        value, grad = ref.as_floats()
        exact = np.concatenate([[value], grad.ravel()])
        mu_c, nu_c = centered(mu[None], nu[None], pi)
        for f_in in (1.0, 1.5, 2.0, 3.0):
            for f_out in (1.0, 1.5, 2.0, 3.0):
                q = integrate_prepared("reverse", mu_c, w[None], nu_c, pi, rtol=1e-10, atol=1e-12, max_refine=0,
                                       plans=np.array([[f_in, f_out, 0.0]]))
                v, e, s = q.value[0], q.error[0], q.scale[0]
                group = np.array([s[0]] + [s[1:].max()] * (len(s) - 1))
                allowed = 1e-10 * group + 1e-12
                true = np.abs(v - exact)
                ratio = np.max(true / e)
                worst = max(worst, ratio)
                print(f"{i:3d}  {f_in:4.1f}  {f_out:5.1f}  {q.nodes[0]:7d}  {np.max(true / allowed):12.3g}  "
                      f"{np.max(e / allowed):16.3g}  {ratio:13.3g}  {seconds:11.1f}", flush=True)
    print(f"largest true/estimate: {worst:.3g}")


if __name__ == "__main__":
    main()
