"""One scenario played on several designs: what each design did, side by side, and a verdict."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from loadtests.report.base import SCHEMA_VERSION, Sparse
from loadtests.report.parts import CapacityResult, Paths
from loadtests.report.run import RunReport


class DesignResult(Sparse):
    """One design's run of the scenario (its whole report), and its knee when searched."""

    design: str
    run: RunReport
    capacity: CapacityResult | None = None

    @property
    def passed(self) -> bool:
        return self.run.slo.passed

    def registry_answers(self, flow: str) -> float:
        """What the registry's own counters say it answered for `flow` over the periods."""
        return sum((p.registry_transactions or {}).get(flow, 0.0) for p in self.run.phases)


class CompareReport(Sparse):
    """What `ndxsim compare` writes to compare.json: the same workload on every design."""

    schema_version: int = SCHEMA_VERSION
    compare_id: str
    scenario: str
    scenario_file: str
    seed: int
    started_at: datetime
    results: list[DesignResult]
    summary: list[str] = Field(default_factory=list)
    paths: Paths | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)
