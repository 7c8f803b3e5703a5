"""The paper's claims as checks, in one registry (``registry()``) that the report and the tests read.

Each check is one decorated function (``rfisher.claims.registry.claim``) in one of the modules below;
it returns what was computed next to what the claim says, and a verdict computed from those numbers.
``settings`` chooses the quick run (seconds: ``rfisher report --quick`` and the tests) or the full one.
"""

from rfisher.claims import basin, candidates, certified_facts, lyapunov_function, mixture, single_teacher  # noqa: F401
from rfisher.claims.registry import (
    FAIL,
    PASS,
    REFUTED,
    VERDICTS,
    Claim,
    ClaimResult,
    Settings,
    claim,
    claim_source,
    registry,
    unregister,
)

__all__ = ["FAIL", "PASS", "REFUTED", "VERDICTS", "Claim", "ClaimResult", "Settings", "claim", "claim_source",
           "registry", "run_all", "unregister"]


def run_all(settings: Settings, ids=None, progress=None) -> list[ClaimResult]:
    """Run the registered claims (all, or ``ids``) in this process, in the registry's order."""
    out = []
    for cid, c in registry().items():
        if ids is not None and cid not in ids:
            continue
        if progress:
            progress(cid)
        out.append(c.run(settings))
    return out
