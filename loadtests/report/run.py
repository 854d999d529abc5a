"""The run report itself, as written to report.json and read back.

report.json is `RunReport.model_dump_json()`; `load_report` reads it back. Field names and nesting
are the ones DESIGN.md fixes; a part a run does not have is left out of the JSON, as before.
A new field gets a default, so that older reports still load; SCHEMA_VERSION goes up only when a
field changes meaning or goes away.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from loadtests.report.base import SCHEMA_VERSION, Latency, Part, ReportError, Sparse
from loadtests.report.bulk import BulkReport
from loadtests.report.design import CacheReport, DesignReport
from loadtests.report.examples import IncorrectExample
from loadtests.report.hops import HopsReport
from loadtests.report.parts import (
    CapacityResult,
    CpuReport,
    FaultRecord,
    Growth,
    OnlineShare,
    Paths,
    SloVerdict,
    TimelineSecond,
)
from loadtests.report.queue import QueueReport
from loadtests.report.workers import Limit, WorkerReport


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
    outcomes: dict[str, int] = Field(default_factory=dict)
    flows: dict[str, int] = Field(default_factory=dict)
    agencies: dict[str, int] = Field(default_factory=dict)
    flow_latency_ms: dict[str, Latency] = Field(default_factory=dict)
    dossiers: dict[str, int] = Field(default_factory=dict)
    change_deliveries: int = 0
    retries: int = 0
    late_answers: int = 0
    incorrect_examples: list[IncorrectExample] = Field(default_factory=list)
    raced: int = 0  # answers decided after a death of their citizen sent while they were in flight
    measured_rate_per_s: float | None = None
    dead_letters_measured: float | None = None
    registry_transactions: dict[str, float] | None = None  # by flow, from the registry's counters
    national_daily_equivalent: int | None = None
    online_share: OnlineShare | None = None
    late_answers_by_requester: dict[str, int] = Field(default_factory=dict)
    queue: QueueReport | None = None  # the registry as the design's queue, against an ideal one


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
    timeline: list[TimelineSecond] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    faults: list[FaultRecord] = Field(default_factory=list)
    warmup: PhaseReport | None = None
    growth: Growth | None = None
    growth_all: list[Growth] = Field(default_factory=list)
    capacity: CapacityResult | None = None
    seed: int | None = None
    design: DesignReport | None = None
    cache: CacheReport | None = None
    cpu: CpuReport | None = None
    paths: Paths | None = None
    bulk: BulkReport | None = None
    workers: list[WorkerReport] = Field(default_factory=list)
    limited_by: Limit | None = None
    hops: HopsReport | None = None

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
