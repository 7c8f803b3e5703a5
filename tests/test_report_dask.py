"""The report's claim groups as Dask tasks (`rfisher report --scheduler ADDRESS`): the same verdicts and
numbers as the local run, on a real two-worker cluster."""

import json

import pytest

pytest.importorskip("distributed")

from rfisher import report  # noqa: E402
from rfisher.sweep import local_cluster  # noqa: E402

IDS = ["L:V_w", "L:V_max"]  # two groups, seconds each in the quick run


def test_report_on_a_dask_cluster_matches_the_local_run(tmp_path):
    null = open("/dev/null", "w")
    local = report.run(tmp_path / "local", quick=True, seed=0, jobs=1, ids=IDS, stream=null)
    cluster = local_cluster(2)
    try:
        remote = report.run(tmp_path / "dask", quick=True, seed=0, ids=IDS, stream=null,
                            scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    assert local == remote == 0
    a, b = (json.loads((tmp_path / d / "results.json").read_text())["claims"] for d in ("local", "dask"))
    assert set(a) == set(b) == set(IDS)
    for cid in IDS:
        assert a[cid]["verdict"] == b[cid]["verdict"]
        assert a[cid]["numbers"] == b[cid]["numbers"]
