"""One scenario played on several designs: what each design did, side by side, and a verdict."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from loadtests.report.base import SCHEMA_VERSION, Latency, Sparse
from loadtests.report.bulk import BulkReport, LaneLoad, ThrottleReport
from loadtests.report.parts import CapacityResult, Paths
from loadtests.report.run import RunReport

COUNTER_FLOW = "verify"  # the interactive flow a citizen waits on at the counter


class BulkJobFigures(Sparse):
    """A bulk job's figures beside the other designs': how soon, how fast, how whole."""

    name: str
    period: str
    items: int
    answered: int
    lost: int
    incorrect: int
    duplicates: int
    completed_s: float | None = None
    deadline_s: float
    met_deadline: bool
    items_per_s: float | None = None


class BulkSide(Sparse):
    """A design's bulk job beside what the counter felt meanwhile: protection and its cost."""

    design: str
    lane: str
    chunk: int
    rate_per_s: float | None = None
    quotas: dict[str, dict[str, float]] = Field(default_factory=dict)
    counter_flow: str = Field(
        COUNTER_FLOW, description="The flow whose latency stands for the counter's."
    )
    counter_ms: dict[str, Latency] = Field(
        default_factory=dict, description="The counter flow's latency by period."
    )
    jobs: list[BulkJobFigures] = Field(default_factory=list)
    throttle: list[ThrottleReport] = Field(
        default_factory=list, description="The quota'd principals' throttle (or any throttled)."
    )
    lanes: list[LaneLoad] = Field(default_factory=list)

    def counter_p99(self, period: str) -> float | None:
        """The counter's p99 in `period`, absent when the period was not played."""
        lat = self.counter_ms.get(period)
        return None if lat is None else lat.p99


def _throttled(bulk: BulkReport) -> list[ThrottleReport]:
    """The principals the design put a quota on; with none, any the broker throttled anyway."""
    quotad = [t for t in bulk.throttle if t.principal in bulk.quotas]
    return quotad or [t for t in bulk.throttle if t.seconds_throttled or t.peak_ms]


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

    def bulk_side(self) -> BulkSide | None:
        """This design's bulk figures for the comparison; None when it shared nothing in bulk."""
        bulk = self.run.bulk
        if bulk is None:
            return None
        phases = self.run.phases
        flow = COUNTER_FLOW if any(COUNTER_FLOW in p.flow_latency_ms for p in phases) else ""
        counter = {p.name: p.flow_latency_ms.get(flow, p.latency_ms) for p in phases}
        jobs = [
            BulkJobFigures(
                name=j.name,
                period=j.period,
                items=j.items,
                answered=j.answered,
                lost=j.lost,
                incorrect=j.incorrect,
                duplicates=j.duplicates,
                completed_s=j.completed_s,
                deadline_s=j.deadline_s,
                met_deadline=j.met_deadline,
                items_per_s=j.items_per_s,
            )
            for j in bulk.jobs
        ]
        return BulkSide(
            design=self.design,
            lane=bulk.lane,
            chunk=bulk.chunk,
            rate_per_s=bulk.rate_per_s,
            quotas=bulk.quotas,
            counter_flow=flow or "interactive",
            counter_ms=counter,
            jobs=jobs,
            throttle=_throttled(bulk),
            lanes=bulk.lanes,
        )


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
    bulk: list[BulkSide] = Field(
        default_factory=list, description="Per design that shared in bulk, its bulk figures."
    )
    bulk_summary: str | None = Field(
        None, description="Which design protected the counter from the bulk job, and the cost."
    )
    paths: Paths | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)
