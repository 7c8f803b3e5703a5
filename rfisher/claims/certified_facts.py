"""CERT: numbers that are proved, not estimated (docs/theory.md, "Certified computations").

python-flint is a dependency of the main command (the ``report`` extra): without it this check is FAIL,
naming the missing library, never a silent skip.
"""

from __future__ import annotations

from rfisher import GaussianMixture
from rfisher.claims.registry import FAIL, PASS, Settings, claim

CERT_PREC = 128
CERT_TRAJECTORY_PREC = 53
#: docs/theory.md, "Identities": the digits of R and ∇R at μ = (3, −1), w = (½, ½), μ* = 0, as (lower, upper).
KNOWN_DIGITS = (("4.72561036483704474390478527", "4.72561036483704474390478528"),
                ("3.18413674391718", "3.18413674391719"), ("-1.18413674391719", "-1.18413674391718"))


@claim("CERT", "Certified facts (ball arithmetic, d = 1)",
       "Balls that provably contain R and ∇R at a known point lie inside its known digits; every known counterexample "
       "to a refuted candidate is a certified increase while R certifiably decreases on the same step; along GD from "
       "μ = (3, −1) every step's decrease of V_w is certified (docs/theory.md, \"Certified computations\").")
def check_cert(c, settings: Settings):
    """Certified: the known digits; the counterexamples; a trajectory with every ΔV_w < 0 certified."""
    try:
        from flint import arb, ctx

        from rfisher import certified
    except ImportError as exc:
        return c.result(f"not run: {exc}; install the report extra (pip install 'rfisher[report]')", FAIL,
                        numbers={"missing library": "python-flint"})
    from rfisher.counterexamples import KNOWN_COUNTEREXAMPLES

    enc = certified.reverse_fisher(GaussianMixture([[3.0], [-1.0]], [0.5, 0.5]), GaussianMixture.single([0.0]),
                                   prec=CERT_PREC)
    balls = [enc.value] + [row[0] for row in enc.gradient]
    with ctx.workprec(CERT_PREC):
        digits_ok = all(b.lower() >= arb(lo) and b.upper() <= arb(hi) for b, (lo, hi) in zip(balls, KNOWN_DIGITS))
    rows, ok = [], digits_ok
    # --quick certifies the two cheapest counterexamples (K ≤ 3); the full run all of them
    known = [kc for kc in KNOWN_COUNTEREXAMPLES if len(kc[1].means) <= 3] if settings.quick else KNOWN_COUNTEREXAMPLES
    for name, cfg in known:
        out = certified.certify_step([m[0] for m in cfg.means], cfg.weights, cfg.target[0], cfg.eta,
                                     candidates=(name, "R"), prec=CERT_TRAJECTORY_PREC)
        ok &= out[name].verdict == certified.INCREASE and out["R"].verdict == certified.DECREASE
        rows.append({"candidate": name, "means": [m[0] for m in cfg.means], "weights": list(cfg.weights),
                     "η": cfg.eta, "ΔV": out[name].change.str(12, radius=True), "verdict": out[name].verdict,
                     "ΔR": out["R"].change.str(12, radius=True), "R verdict": out["R"].verdict})
    steps = 10 if settings.quick else 300
    tr = certified.certified_trajectory([3.0, -1.0], [0.5, 0.5], 0.0, 0.3, steps, prec=CERT_TRAJECTORY_PREC)
    ok &= tr.stopped is None
    last = tr.changes[-1]
    return c.result(
        f"python-flint arb: acb.integral on windows |z| ≤ L around each component plus an explicit Gaussian tail bound "
        f"(rfisher/certified.py), integrands printed from derivations/; R at {CERT_PREC} bits, steps at "
        f"{CERT_TRAJECTORY_PREC} bits; θ − η∇R in ball arithmetic",
        PASS if ok else FAIL,
        numbers={
            "R(3, −1), w = (½, ½), μ* = 0": enc.value.str(30, radius=True),
            "∇R(3, −1)": [row[0].str(20, radius=True) for row in enc.gradient],
            "largest radius": enc.radius(),
            "inside the known digits": digits_ok,
            "known counterexamples": rows,
            f"certified trajectory (μ = (3, −1), η = 0.3, {steps} steps)":
                f"{tr.certified_steps}/{steps} steps with ΔV_w < 0 certified; last ΔV_w ∈ {last.str(12, radius=True)}; "
                f"end μ = {tr.means[-1].round(6).tolist()}; largest shadow distance {tr.shadow.max():.1e}"
                + (f"; stopped at {tr.stopped}" if tr.stopped else ""),
        },
        details={"trajectory_means": tr.means.tolist(), "change_upper": [float(x.upper()) for x in tr.changes]},
    )
