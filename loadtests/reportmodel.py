"""The typed run report: what `run`, `capacity`, the summary, the HTML and the tests all read.

report.json is `RunReport.model_dump_json()`; `load_report` reads it back. Field names and nesting
are the ones DESIGN.md fixes; a part a run does not have is left out of the JSON, as before.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
)

SCHEMA_VERSION = 1  # raise it when a field changes meaning or goes; added fields get defaults


class ReportError(ValueError):
    """A report file that cannot be read back; the message names the file and the field."""


class Part(BaseModel):
    """A part of the report; an unknown key on reading is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Sparse(Part):
    """A part whose absent (None) fields are left out of the JSON rather than written as null."""

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {k: v for k, v in dumped.items() if v is not None}


class Latency(Part):
    """Percentiles of one HdrHistogram in milliseconds; never averaged across histograms."""

    p50: float
    p95: float
    p99: float
    max: float


class OnlineShare(Part):
    """Online share of dossiers: the scenario's, the monitor's counters', the driver's own."""

    target: float
    measured: float | None
    driver: float | None = None


class PhaseReport(Sparse):
    """One period (or the warm-up): the ledger's accounting, then what Prometheus measured."""

    name: str
    target_rate_per_s: float
    duration_s: float
    sent: int
    answered: int
    timed_out: int
    dead_lettered: int
    lost: int
    incorrect: int
    late_sends: int
    throughput_tps: float
    latency_ms: Latency
    outcomes: dict[str, int] = {}
    flows: dict[str, int] = {}
    agencies: dict[str, int] = {}
    flow_latency_ms: dict[str, Latency] = {}
    dossiers: dict[str, int] = {}
    change_deliveries: int = 0
    retries: int = 0
    late_answers: int = 0
    incorrect_examples: list[str] = []
    measured_rate_per_s: float | None = None
    dead_letters_measured: float | None = None
    national_daily_equivalent: int | None = None
    online_share: OnlineShare | None = None


class Totals(Part):
    """The whole run as one ledger; its latency comes from the merged histograms."""

    sent: int
    answered: int
    timed_out: int
    dead_lettered: int
    incorrect: int
    late_sends: int
    lost: int
    latency_ms: Latency
    throughput_tps: float


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


class RunReport(Sparse):
    """Everything one run (or one capacity search) found, as written to report.json."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    scenario: str
    scenario_file: str
    topology: str
    started_at: datetime
    elapsed_s: float
    bootstrap: str
    scale: float
    time_compression: float
    phases: list[PhaseReport]
    totals: Totals
    late_answers: int
    slo: SloVerdict
    timeline: list[TimelineSecond] = []
    assumptions: list[str] = []
    warnings: list[str] = []
    faults: list[FaultRecord] = []
    warmup: PhaseReport | None = None
    growth: Growth | None = None
    growth_all: list[Growth] = []
    capacity: CapacityResult | None = None
    paths: Paths | None = None

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"version {version} is newer than this ndxsim reads ({SCHEMA_VERSION})"
            )
        return version


def _where(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def load_report(path: Path) -> RunReport:
    """A report.json read back into the model; raises ReportError naming the file and field."""
    try:
        return RunReport.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror}") from None
    except ValidationError as exc:
        problems = [f"{_where(e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()]
        raise ReportError(f"{path}: " + "; ".join(problems)) from None
