"""The registry of checks: one function per claim, declared once, read by the report and the tests.

Registering a check declares everything the report and the tests need: its id, title, the statement
it checks (citing docs/theory.md), the verdicts that are expected (a claim of the paper: PASS only;
a Lyapunov candidate: what docs/theory.md says it is), the shared runs it reads (claims sharing runs
are run in the same worker process) and the figures drawn from its details. The check computes its
verdict from its numbers; a verdict outside ``expected`` is unexpected and makes ``rfisher report``
exit 1. Adding a claim is one decorated function in one module of ``rfisher.claims``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

PASS, FAIL, REFUTED = "PASS", "FAIL", "REFUTED"
VERDICTS = (PASS, FAIL, REFUTED)


@dataclass(frozen=True)
class Settings:
    quick: bool = True
    seed: int = 0


@dataclass
class ClaimResult:
    id: str
    title: str
    statement: str
    method: str
    verdict: str
    expected: tuple
    numbers: dict = field(default_factory=dict)  # name -> value (floats, (value, error), text, tables)
    details: dict = field(default_factory=dict)  # data for the figures (plain arrays and numbers)
    seconds: float = 0.0

    @property
    def unexpected(self) -> bool:
        return self.verdict not in self.expected


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    statement: str
    check: Callable[[Settings], ClaimResult]
    expected: tuple = (PASS,)
    uses: tuple = ()  # names of the shared runs it reads
    figures: tuple = ()  # names in rfisher.figures.FIGURES, drawn from its details

    def run(self, settings: Settings) -> ClaimResult:
        t0 = time.perf_counter()
        res = self.check(settings)
        res.seconds = time.perf_counter() - t0
        if res.verdict not in VERDICTS:
            raise ValueError(f"{self.id}: verdict {res.verdict!r} is not one of {VERDICTS}")
        return res

    def result(self, method: str, verdict: str, numbers=None, details=None) -> ClaimResult:
        """A ClaimResult carrying this claim's declaration."""
        return ClaimResult(self.id, self.title, self.statement, method, verdict, self.expected, numbers or {},
                           details or {})


_CLAIMS: dict[str, Claim] = {}
_SOURCES: list[Callable[[], list[Claim]]] = []


def claim(id: str, title: str, statement: str, expected=(PASS,), uses=(), figures=()):
    """Register ``check(claim, settings) -> ClaimResult`` under ``id``."""

    def wrap(fn):
        def check(settings: Settings) -> ClaimResult:
            return fn(_CLAIMS[id], settings)

        check.__doc__ = fn.__doc__
        _CLAIMS[id] = Claim(id, title, statement, check, tuple(expected), tuple(uses), tuple(figures))
        return fn

    return wrap


def claim_source(fn: Callable[[], list[Claim]]):
    """Register a function that makes claims on demand (one per built-in Lyapunov candidate)."""
    _SOURCES.append(fn)
    return fn


def unregister(id: str) -> None:
    _CLAIMS.pop(id, None)


def registry() -> dict[str, Claim]:
    """Every registered claim, in the report's order: the paper's claims, then the others."""
    out = dict(_CLAIMS)
    for source in _SOURCES:
        for c in source():
            out.setdefault(c.id, c)
    return dict(sorted(out.items(), key=lambda kv: (kv[0].startswith("L:"), not kv[0].startswith("C"), kv[0])))
