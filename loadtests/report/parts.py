"""The parts of a run report that are not per phase: growth, SLOs, timeline, faults, capacity."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from loadtests.report.base import Latency, Part, Sparse
from loadtests.report.examples import IncorrectExample


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


class TimelineSecond(Sparse):
    """One second of the run (second `t` after its common start, named after the period that
    played in it): what was offered, what came back and how, the latency of every request that
    ended in it, and the registry's pressure as sampled in it.

    The words are the tables': `answered` counts the answers their requester accepted, before
    its timeout (the goodput); `timed_out` the requests whose requester gave up; `late_answers`
    the answers that came after their requester had given up (counted, never accepted);
    `retries` the resends after a timeout. `offered` counts the requests whose intended send
    time falls in this second. The registry's gauges are its last scrape in the second, summed
    over its instances; None where no scrape landed.
    """

    t: int
    phase: str
    answered: int
    latency_ms: Latency  # of the requests that ended in this second, answered or timed out
    offered: int = 0
    timed_out: int = 0
    late_answers: int = 0
    retries: int = 0
    consumer_lag: float | None = None  # records the registry's group is behind, all topics
    slots_busy: float | None = None  # database connections holding a request
    slots: float | None = None  # database connections the design gives every instance, summed
    in_hand: float | None = None  # records the registry loops have read and not committed

    @property
    def ended(self) -> int:
        """Requests that ended in this second: answered, or timed out."""
        return self.answered + self.timed_out


class BrokerOutage(Part):
    """A broker restart as each service (by name) lived it: readiness, log lines, CPU."""

    down_s: float  # broker process gone, before its start began
    restart_s: float  # its start, until it served clients
    not_ready_after_s: dict[str, float | None]  # until readiness showed 0; None: it never did
    ready_again_s: dict[str, float | None]  # after the restart, until 1 again
    log_lines_down: dict[str, int]  # written while it was down
    cpu_share_down: dict[str, float]  # of one core while it was down
    log_lines: dict[str, int]  # from the stop until ready again

    def summary(self) -> str:
        def most(values: dict[str, float | None]) -> str:
            known = [v for v in values.values() if v is not None]
            missing = len(values) - len(known)
            return f"{max(known, default=0):g}s" + (f" ({missing} never)" if missing else "")

        lines = max(self.log_lines.values(), default=0)
        cpu = max(self.cpu_share_down.values(), default=0)
        return (
            f"down {self.down_s:g}s, restart {self.restart_s:g}s; not ready within "
            f"{most(self.not_ready_after_s)}, ready again within {most(self.ready_again_s)}; "
            f"at most {lines} log lines and {cpu:.0%} of a core per service"
        )


DETAILS = ("node", "instance", "agency", "for_s", "count", "topic", "writer_version", "rolled")


class RogueAttempt(Part):
    """One forbidden attempt of a rogue agency and what stopped it."""

    action: str
    denied: bool
    result: str


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
    node: int | None = None  # the local broker a broker fault took down
    outage: BrokerOutage | None = None
    victim: str | None = None  # whom a rogue agency tried to read or impersonate
    attempts: list[RogueAttempt] | None = None

    def detail(self) -> str:
        """The fields this action has, as words for a table cell."""
        parts = [] if self.outage is None else [self.outage.summary()]
        for a in self.attempts or []:
            parts.append(f"{a.action}: {'denied' if a.denied else 'NOT DENIED'} ({a.result})")
        names = (
            "node",
            "instance",
            "agency",
            "victim",
            "for_s",
            "count",
            "topic",
            "writer_version",
            "rolled",
        )
        for name in names:
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
    limited_by: str | None = None  # generator, simulation or design (see RunReport.limited_by)
    limited_reason: str | None = None  # its words, with the figures (RunReport.limited_by.reason)
    incorrect_examples: list[IncorrectExample] = Field(default_factory=list)
    raced: int = 0  # answers decided after a death of their citizen sent while in flight


class CapacityResult(Part):
    knee: float | None
    first_failing_rate: float | None
    steps: list[CapacityStep]
    at_80_percent: CapacityStep | None
    knee_of: str | None = None  # which side limited the first failing step: whose knee it is


class ComponentCpu(Part):
    """One part of the run (driver, registry, monitor, broker): its CPU per transaction."""

    component: str
    ms_per_transaction: float
    cores: float  # average over the measured window
    peak_cores: float  # the busiest second


class CpuReport(Part):
    """Where the CPU went while the periods played (psutil, every process of the run)."""

    parts: list[ComponentCpu]
    total_ms_per_transaction: float
    window_s: float
    cpus: int
