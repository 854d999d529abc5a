"""The typed bench result: what `make bench` prints and writes to bench.json."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.config import REPO_ROOT, Clients, Library

BROKER_DIR = REPO_ROOT / ".cache" / "brokers"
Role = Literal["warm-up", "step", "retry", "refine", "at-80%"]


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolLatency(Part):
    """Latency as Kafka's ProducerPerformance prints it, in milliseconds."""

    avg: float
    p50: float
    p95: float
    p99: float
    p999: float
    max: float


class ProducerRun(Part):
    """One run of Kafka's own producer benchmark, from its final summary line."""

    records: int
    records_per_s: float
    mb_per_s: float
    latency_ms: ToolLatency
    wall_s: float = 0.0


class RawCeiling(ProducerRun):
    """The measured producer run, with the record size it used and the broker's CPU per record."""

    record_size: int
    broker_cpu_ms_per_record: float


class HopFloor(Part):
    """Kafka's EndToEndLatency: one produce->consume hop at a time, acks=all, in milliseconds."""

    messages: int
    record_size: int
    avg_ms: float
    p50_ms: float
    p99_ms: float
    p999_ms: float


class CpuPerTransaction(Part):
    """CPU-ms per transaction of each part in the step's window, and others' cores meanwhile."""

    driver_ms: float
    broker_ms: float
    registry_ms: float
    other_services_ms: dict[str, float] = {}  # by service kind: monitor, ministry, ...
    total_ms: float
    broker_jit_ms: float  # already inside broker_ms: the JIT compilers, a cost that fades
    window_s: float
    our_cores: float
    other_cores: float


class BenchStep(Part):
    """One rate step: what was offered and achieved, and why it is or is not sustained."""

    role: Role
    offered_tps: float
    achieved_tps: float
    p50_ms: float
    p99_ms: float
    sent: int
    answered: int
    timed_out: int
    lost: int
    incorrect: int
    late_send_share: float = 0.0
    late_answers: int = 0
    limited_by: str | None = None  # generator, simulation or design: the run report's verdict
    run_id: str = ""
    cpu: CpuPerTransaction | None = None
    reasons: list[str] = []
    passed: bool = False
    generator_bound: bool = False
    wall_s: float = 0.0
    loadavg_1m: float = 0.0
    skipped_backlog: int | None = None


class At80(Part):
    offered_tps: float
    achieved_tps: float
    p50_ms: float
    p99_ms: float


class HeadlineCheck(Part):
    name: str
    result: Literal["PASS", "MISS"]


class Headline(Part):
    """Maximum sustained rate, figures at 80% of it, ratio to the raw ceiling, and verdicts."""

    max_sustained_tps: float
    max_step_offered_tps: float | None
    at_80pct: At80 | None
    ratio_to_raw_ceiling: float | None
    national_day_minutes: float | None
    checks: list[HeadlineCheck]


class WorkerSeries(Part):
    """The stepped series played with one number of worker processes on one client library."""

    workers: int
    library: Library = "aiokafka"
    agencies: Library | None = None  # the agencies' own library, only when not the run's
    steps: list[BenchStep]
    headline: Headline


class Host(Part):
    cpus: int | None
    loadavg_start: tuple[float, float, float]
    loadavg_end: tuple[float, float, float]


class Options(Part):
    """How a bench is played, from the command line."""

    model_config = ConfigDict(frozen=True)

    quick: bool
    max_rate: float
    step_seconds: float
    warm_up_s: float  # a fresh broker's JIT compilers take about a core for the first ~30 s
    registries: int
    budget_s: float
    ceiling_seconds: float
    floor_messages: int = 3000  # EndToEndLatency's records, one at a time
    runs_dir: Path
    broker_dir: Path = BROKER_DIR  # each fresh broker's data, removed once it is stopped
    security: bool = False  # this series ran on a secured broker (SASL, ACLs, signed records)
    worker_counts: tuple[int, ...] = (1,)  # one series per count, in this order, same broker
    # Every count's series on each choice of client libraries, on the same broker.
    clients: tuple[Clients, ...] = (Clients(),)


class BenchResult(Part):
    """Everything one `make bench` measured, as written to bench.json."""

    started_at: datetime
    elapsed_s: float
    host: Host
    options: Options
    raw_ceiling: RawCeiling
    hop_floor: HopFloor | None = None
    series: list[WorkerSeries]
    path: str

    @property
    def main(self) -> WorkerSeries:
        """The series with the most workers on the last library: what the machine generates."""
        return self.series[-1]
