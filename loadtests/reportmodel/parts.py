"""The parts of a run report that are not per phase: growth, SLOs, timeline, faults, capacity."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from loadtests.reportmodel.base import Latency, Part, Sparse


class OnlineShare(Part):
    """Online share of dossiers: the scenario's, the monitor's counters', the driver's own."""

    target: float
    measured: float | None
    driver: float | None = None


class Growth(Part):
    """A period's growth over its baseline: the target, the registry's counters, the driver."""

    period: str
    baseline: str
    target: float
    measured: float | None
    driver: float | None = None


class SloCheck(Sparse):
    """One check; `period` and `flow` say what it is about, so nobody parses its name."""

    name: str
    target: float
    measured: float | None
    passed: bool
    period: str | None = None
    flow: str | None = None
    percentile: str | None = None


class SloVerdict(Part):
    passed: bool
    failed: list[str]
    checks: list[SloCheck]


class TimelineSecond(Part):
    """One second of the run: answers received in it and their latency."""

    t: int
    phase: str
    answered: int
    latency_ms: Latency


class FaultRecord(Sparse):
    """What a fault directive did, and how long until it was over."""

    action: str
    period: str
    at_s: float
    recovered_s: float
    instance: str | None = None
    agency: str | None = None
    for_s: float | None = None
    count: int | None = None
    topic: str | None = None
    writer_version: int | None = None
    rolled: list[str] | None = None

    def detail(self) -> str:
        """The fields this action has, as words for a table cell."""
        parts = []
        for name in ("instance", "agency", "for_s", "count", "topic", "writer_version", "rolled"):
            value = getattr(self, name)
            if value is not None:
                shown = ", ".join(value) if isinstance(value, list) else value
                parts.append(f"{name.replace('_', ' ')} {shown}")
        return "; ".join(parts)


class Paths(Part):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    json_path: str = Field(alias="json")
    html_path: str = Field(alias="html")


class CapacityStep(Part):
    """One rate of the capacity search and whether the scenario's SLOs held there."""

    rate: float
    throughput_tps: float
    p50_ms: float
    p99_ms: float
    timed_out: int
    late_sends: int
    lost: int
    incorrect: int
    passed: bool
    failed: list[str]


class CapacityResult(Part):
    knee: float | None
    first_failing_rate: float | None
    steps: list[CapacityStep]
    at_80_percent: CapacityStep | None
