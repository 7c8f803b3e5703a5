"""Every claim in the registry runs (quick settings) and reaches a verdict its registry entry allows.

The verdict is computed by the check from its numbers; this test asserts the computation happened
and came out as a finding (PASS, or REFUTED for a Lyapunov candidate), not a failure.
"""

import math

import pytest

from rfisher import claims

QUICK = claims.Settings(quick=True, seed=0)


@pytest.mark.parametrize("cid", list(claims.REGISTRY))
def test_claim_quick(cid):
    res = claims.REGISTRY[cid].check(QUICK)
    assert res.id == cid
    assert res.verdict in (claims.PASS, claims.FAIL, claims.REFUTED)
    assert res.statement and res.method and res.numbers
    assert not res.unexpected, (res.verdict, res.numbers)


def test_c1_rate_is_measured():
    """The final phase's exponent is measured, not assumed (SPEC: sublinear, R quartic in the spread)."""
    res = claims.REGISTRY["C1"].check(QUICK)
    e = res.numbers["final-phase exponent of max_i||μ_i − μ*|| vs t (median)"]
    assert math.isfinite(e) and e < 0


def test_wilson_interval():
    lo, hi = claims.wilson_interval(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35
    lo, hi = claims.wilson_interval(10, 10)
    assert hi > 1 - 1e-12 and 0.65 < lo < 0.75
    lo, hi = claims.wilson_interval(50, 100)
    assert abs(lo - 0.4038) < 1e-3 and abs(hi - 0.5962) < 1e-3


def test_quick_report_end_to_end(tmp_path, capsys):
    """`rfisher report --quick` writes what it promises: valid PNGs, parseable JSON that matches the
    printed verdict table, a markdown and a self-contained HTML report naming every claim."""
    import json

    from rfisher import cli

    code = cli.main(["report", "--quick", "--out", str(tmp_path), "--seed", "0"])
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "results.json").read_text())
    assert code == (1 if any(v["verdict"] not in v["expected"].split("/") for v in data["verdicts"]) else 0)
    assert data["seed"] == 0 and data["versions"]["rfisher"] and data["versions"]["sympy"]
    for row in data["verdicts"]:
        line = next(ln for ln in printed.splitlines() if ln.startswith(row["claim"] + " "))
        assert row["verdict"] in line.split()
    assert set(data["claims"]) == set(claims.REGISTRY)
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) >= 5 and set(p.name for p in pngs) == set(data["figures"])
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    md = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    for cid in claims.REGISTRY:
        assert f"## {cid} " in md and cid in html
    assert html.count("data:image/png;base64,") == len(pngs) and "src=\"http" not in html
