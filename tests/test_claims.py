"""The claim registry: every row runs and reaches a verdict it expects; every row can give an unexpected
verdict, and then `rfisher report` exits 1; a claim and a candidate added in one place reach the report.

The forced cases change one thing each, the way a real defect would: an impossible constant (ε = 0, a
level of 1), a wrong gradient fed to the falsifier (its violations then fail the independent
confirmation), a step size that makes R increase, wrong digits for the certified value, a refuted
candidate put in C5's place.
"""

import json
import math

import numpy as np
import pytest

from rfisher import claims, report
from rfisher.claims import candidates, certified_facts, lyapunov_function, mixture, single_teacher
from rfisher.statistics import median_interval, rate_exponent, sqrt_log_fit, wilson_interval

QUICK = claims.Settings(quick=True, seed=0)
ROWS = list(claims.registry())


@pytest.mark.parametrize("cid", ROWS)
def test_every_row_reaches_an_expected_verdict(cid):
    res = claims.registry()[cid].run(QUICK)
    assert res.id == cid and res.verdict in claims.VERDICTS
    assert res.statement and res.method and res.numbers and "docs/theory.md" in res.statement
    assert not res.unexpected, (res.verdict, res.numbers)


def test_c1_rate_exponent_is_near_its_leading_order():
    """The final phase is sublinear with exponent −1/2 at leading order (docs/theory.md, C1): the median
    measured exponent lies in C1_EXPONENT_RANGE."""
    res = claims.registry()["C1"].run(QUICK)
    med, lo, hi = res.numbers["final-phase exponent of max_i||μ_i − μ*|| vs t (median, 95% CI)"]
    lo_ok, hi_ok = single_teacher.C1_EXPONENT_RANGE
    assert lo_ok <= med <= hi_ok, (med, lo, hi)


def _negated_gradient(means, weights):
    from rfisher import falsifier

    R, R_err, g, g_err, *rest = falsifier.reverse_gradient(means, weights)
    return (R, R_err, -g, g_err, *rest)


def _wrong_gradient(monkeypatch):
    """The falsifier searches with −∇R: its float violations fail the independent confirmation."""
    from rfisher import falsifier

    original = falsifier.falsify
    monkeypatch.setattr(falsifier, "falsify", lambda *a, **k: original(*a, **{**k, "objective_gradient": _negated_gradient}))


def _basin_wrong_gradient(monkeypatch):
    """The per-basin rows get −∇R: the search's float violations fail the 40-digit confirmation, GD turns to ascent."""
    from rfisher import basin

    original = basin.objective_gradient
    monkeypatch.setattr(basin, "objective_gradient", lambda *a, **k: (lambda g, e: (-g, e))(*original(*a, **k)))


def _small_c1(monkeypatch):
    monkeypatch.setattr(single_teacher, "c1_sizes", lambda quick: ([(2, 1)], 2))
    single_teacher.c1_runs.cache_clear()


FORCED = {
    "C1": lambda mp: mp.setattr(single_teacher, "C1_EPS", 0.0),
    "C2": lambda mp: mp.setattr(single_teacher, "C2_MOVE", 0.0),
    "C3": lambda mp: mp.setattr(mixture, "C3_LEVEL", 1.0),
    "C4": lambda mp: mp.setattr(mixture, "C4_TV_TOL", -1.0),
    "C5": lambda mp: mp.setattr(lyapunov_function, "CANDIDATE", "V_w"),
    "CERT": lambda mp: mp.setattr(certified_facts, "KNOWN_DIGITS", (("4.8", "4.9"),) * 3),
    "L:R": lambda mp: (_small_c1(mp), mp.setattr(single_teacher, "C1_STEP", 3.0)),
    "L:R+V_w": _wrong_gradient,
    "L:V_basin": _basin_wrong_gradient,
    "L:V_basin-C3": _basin_wrong_gradient,
}


@pytest.mark.parametrize("cid", ROWS)
def test_every_row_can_give_an_unexpected_verdict(cid, monkeypatch, tmp_path):
    """A forced defect gives a verdict outside the row's expected ones, and `rfisher report` exits 1."""
    force = FORCED.get(cid, _wrong_gradient if cid.startswith("L:") else None)
    assert force is not None, f"no forced case for {cid}: add one to FORCED"
    force(monkeypatch)
    try:
        code = report.run(tmp_path, quick=True, seed=0, jobs=1, ids=[cid], stream=open("/dev/null", "w"))
        data = json.loads((tmp_path / "results.json").read_text())
    finally:
        for cached in (single_teacher.c1_runs, single_teacher.c2_runs, mixture.c3_runs, candidates.search):
            cached.cache_clear()
    row = data["claims"][cid]
    assert row["verdict"] not in row["expected"], row["numbers"]
    assert code == 1


def test_c5_fails_when_only_the_certified_region_is_incomplete(monkeypatch):
    """Condition 3 alone decides: with no bisection allowed the verifier certifies some boxes but leaves others
    uncovered, and C5 is FAIL although U held along the runs and the falsifier found nothing."""
    from rfisher import verifier

    monkeypatch.setattr(verifier, "MAX_DEPTH", 0)
    try:
        res = claims.registry()["C5"].run(QUICK)
    finally:
        candidates.search.cache_clear()
    assert res.numbers["(1) steps increasing U beyond the slack"] == 0
    assert not res.details["falsifier"]["flow"]["worst_evaluation"].startswith("Evaluation(normalised=-")
    assert res.numbers["(3) certified region"].startswith("NOT certified"), res.numbers["(3) certified region"]
    assert res.verdict == "FAIL" and res.unexpected


def test_a_claim_and_a_candidate_added_in_one_place_reach_the_report(monkeypatch, tmp_path):
    """A throwaway claim (one decorated function) and a throwaway candidate (one SymPy expression in
    derivations/lyapunov.py plus regeneration, here into a temporary cache) both get a report row."""
    from derivations import lyapunov as L
    from rfisher import generated_modules

    @claims.claim("T:throwaway", "A throwaway claim", "2 + 2 = 4 (docs/theory.md, \"Claims\")")
    def _throwaway(c, settings):
        return c.result("arithmetic", claims.PASS if 2 + 2 == 4 else claims.FAIL, numbers={"2 + 2": 4})

    quartic = L.CandidateDerivation("V_4", lambda ms: sum(sum((m - t) ** 4 for m, t in zip(ms.mu[i], ms.target))
                                                          for i in range(ms.K)), "Σ_i Σ_a (μ_ia − μ*_a)⁴")
    monkeypatch.setattr(L, "BUILTIN", (*L.BUILTIN, quartic))
    monkeypatch.setenv("RFISHER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(generated_modules, "_shipped", lambda name: not name.startswith("lyapunov_"))
    generated_modules.cache_clear()
    from rfisher import lyapunov

    lyapunov.builtin.cache_clear()
    try:
        assert {"T:throwaway", "L:V_4"} <= set(claims.registry())
        report.run(tmp_path / "out", quick=True, seed=0, jobs=1, ids=["T:throwaway", "L:V_4"],
                   stream=open("/dev/null", "w"))
    finally:
        claims.unregister("T:throwaway")
        generated_modules.cache_clear()
        lyapunov.builtin.cache_clear()
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## T:throwaway " in md and "## L:V_4 " in md


def test_statistics():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35
    lo, hi = wilson_interval(10, 10)
    assert hi > 1 - 1e-12 and 0.65 < lo < 0.75
    lo, hi = wilson_interval(50, 100)
    assert abs(lo - 0.4038) < 1e-3 and abs(hi - 0.5962) < 1e-3
    t = np.arange(100, 5000, 10.0)
    assert abs(rate_exponent(t, 3 * t**-0.5) + 0.5) < 1e-9
    assert math.isnan(rate_exponent(t, 1e-9 * np.ones_like(t)))
    med, lo, hi = median_interval(np.arange(101))
    assert med == 50 and lo < 50 < hi
    a, b, resid = sqrt_log_fit([2, 3, 5], [1 + 2 * np.sqrt(np.log(j)) for j in (2, 3, 5)])
    assert abs(a - 1) < 1e-12 and abs(b - 2) < 1e-12 and resid < 1e-12


def test_quick_report_end_to_end(tmp_path, capsys):
    """`rfisher report --quick` writes what it promises: valid PNGs, parseable JSON that matches the
    printed verdict table, a markdown and a self-contained HTML report naming every claim."""
    from rfisher import cli

    code = cli.main(["report", "--quick", "--out", str(tmp_path), "--seed", "0", "--jobs", "1"])
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "results.json").read_text())
    assert code == (1 if any(v["verdict"] not in v["expected"].split("/") for v in data["verdicts"]) else 0)
    assert data["seed"] == 0 and data["versions"]["rfisher"] and data["versions"]["sympy"]
    for row in data["verdicts"]:
        line = next(ln for ln in printed.splitlines() if ln.startswith(row["claim"] + " "))
        assert row["verdict"] in line.split()
    assert set(data["claims"]) == set(claims.registry())
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) >= 5 and set(p.name for p in pngs) == set(data["figures"])
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    md = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    for cid in claims.registry():
        assert f"## {cid} " in md and cid in html
    assert html.count("data:image/png;base64,") == len(pngs) and "src=\"http" not in html
    assert code == 0


def test_compile_kernels_leaves_both_entry_points_compiled_for_the_workers():
    """``report.compile_kernels`` (run before the worker processes start) compiles the GD loop and the
    batched quadrature: the workers then load them from the cache instead of each compiling them."""
    import subprocess
    import sys

    check = ("from rfisher import descent, quadrature, report\n"
             "assert not descent.descend.signatures and not quadrature.integrate_batch.signatures\n"
             "report.compile_kernels()\n"
             "assert descent.descend.signatures and quadrature.integrate_batch.signatures\n")
    subprocess.run([sys.executable, "-c", check], check=True)  # a fresh process: nothing compiled before
