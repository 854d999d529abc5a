"""Accounts for every request a run sent: answered, timed out or dead-lettered, never lost.

A worker sends its ledger as it is (pydantic derives the JSON from the fields, histograms encoded
with hdrh) and the coordinator adds the ledgers up: counts summed, histograms added, since
percentiles are never averaged."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Annotated

from hdrh.histogram import HdrHistogram
from pydantic import PlainSerializer, PlainValidator

from loadtests.report import IncorrectExample, Latency, PhaseReport, Totals
from services.wire import VERIFY_OUTCOMES, Outcome

__all__ = [
    "Counts",
    "Histogram",
    "PhaseLedger",
    "add",
    "decode",
    "encode",
    "latency_summary",
    "new_histogram",
    "totals",
]

LOWEST_US, HIGHEST_US, DIGITS = 1, 120_000_000, 3
MAX_EXAMPLES = 10  # incorrect answers kept per phase, each with what explains it


def new_histogram(digits: int = DIGITS) -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, digits)


def encode(hist: HdrHistogram) -> str:
    return bytes(hist.encode()).decode("ascii")


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


def _histogram(value: object) -> HdrHistogram:
    if isinstance(value, HdrHistogram):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an hdrh-encoded histogram")
    return decode(value) if value else new_histogram()


# A latency histogram that travels as its hdrh encoding.
Histogram = Annotated[
    HdrHistogram, PlainValidator(_histogram), PlainSerializer(encode, return_type=str)
]


def latency_summary(hist: HdrHistogram) -> Latency:
    if hist.get_total_count() == 0:
        return Latency(p50=0.0, p95=0.0, p99=0.0, max=0.0)
    return Latency(
        p50=hist.get_value_at_percentile(50) / 1000,
        p95=hist.get_value_at_percentile(95) / 1000,
        p99=hist.get_value_at_percentile(99) / 1000,
        max=hist.get_max_value() / 1000,
    )


@dataclass(kw_only=True)
class Counts:
    """A ledger's counters: each is summed when ledgers are added, and a worker's progress
    carries them all every second."""

    sent: int = 0
    answered: int = 0
    timed_out: int = 0
    dead_lettered: int = 0
    incorrect: int = 0
    late_sends: int = 0
    change_deliveries: int = 0
    retries: int = 0
    late_answers: int = 0
    raced: int = 0  # answers decided after a death of their citizen sent while in flight

    def counts(self) -> Counts:
        """The counters alone (what a worker's progress carries)."""
        return Counts(**{f.name: getattr(self, f.name) for f in fields(Counts)})

    def add_counts(self, part: Counts) -> None:
        for f in fields(Counts):
            setattr(self, f.name, getattr(self, f.name) + getattr(part, f.name))


@dataclass
class PhaseLedger(Counts):
    """One period's ledger; a worker's counts `started`/`ended` from the run's common start."""

    name: str
    target_rate: float
    online_target: float | None = None
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    flows: Counter[str] = field(default_factory=Counter)
    agencies: Counter[str] = field(default_factory=Counter)
    dossiers: Counter[str] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=new_histogram)
    flow_latency: dict[str, Histogram] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0
    examples_incorrect: list[IncorrectExample] = field(default_factory=list)
    late_by_requester: Counter[str] = field(default_factory=Counter)  # answers that came
    # after their requester gave up, by requester (a worker counts them per period)
    queue: str = ""  # a worker's queue sample of the period (QueueSample.encode), merged apart

    @property
    def lost(self) -> int:
        return self.sent - self.answered - self.timed_out - self.dead_lettered

    def record(
        self,
        flow: str,
        outcome: Outcome,
        correct: bool,
        latency_s: float,
        example: IncorrectExample | None = None,
    ) -> None:
        """One request ended; an incorrect answer comes with the example that explains it."""
        if outcome is Outcome.TIMEOUT:
            self.timed_out += 1
        else:
            self.answered += 1
            self.outcomes[outcome] += 1
            if not correct:
                self.incorrect += 1
                if len(self.examples_incorrect) < MAX_EXAMPLES:
                    self.examples_incorrect.append(
                        example or IncorrectExample(flow=flow, got=outcome)
                    )
        value = max(LOWEST_US, min(HIGHEST_US, int(latency_s * 1e6)))
        self.latency.record_value(value)
        hist = self.flow_latency.get(flow)
        if hist is None:
            hist = self.flow_latency[flow] = new_histogram()
        hist.record_value(value)

    def _outcomes(self) -> dict[str, int]:
        """Every verify outcome as a key (zero when none came), then any other outcome seen."""
        known = dict[str, int]({o: self.outcomes.get(o, 0) for o in VERIFY_OUTCOMES})
        return {**known, **dict[str, int](sorted(self.outcomes.items()))}

    def summary(self) -> PhaseReport:
        """The ledger's part of the phase report; what Prometheus measured is added by run."""
        elapsed = max(self.ended - self.started, 1e-9)
        return PhaseReport(
            name=self.name,
            target_rate_per_s=round(self.target_rate, 3),
            duration_s=round(elapsed, 3),
            sent=self.sent,
            answered=self.answered,
            timed_out=self.timed_out,
            dead_lettered=self.dead_lettered,
            lost=self.lost,
            incorrect=self.incorrect,
            late_sends=self.late_sends,
            throughput_tps=round(self.answered / elapsed, 2),
            latency_ms=latency_summary(self.latency),
            outcomes=self._outcomes(),
            flows=dict(sorted(self.flows.items())),
            agencies=dict(sorted(self.agencies.items())),
            flow_latency_ms={f: latency_summary(h) for f, h in sorted(self.flow_latency.items())},
            dossiers=dict(sorted(self.dossiers.items())),
            change_deliveries=self.change_deliveries,
            retries=self.retries,
            late_answers=self.late_answers,
            incorrect_examples=list(self.examples_incorrect),
            raced=self.raced,
        )


def add(into: PhaseLedger, part: PhaseLedger) -> None:
    """Adds one worker's period to the merged ledger: counts summed, histograms added."""
    into.add_counts(part)
    for f in fields(PhaseLedger):  # every tally by name (outcome, flow, agency, ...) is added
        if isinstance(tally := getattr(into, f.name), Counter):
            tally.update(getattr(part, f.name))
    into.latency.add(part.latency)
    for flow, hist in part.flow_latency.items():
        if flow in into.flow_latency:
            into.flow_latency[flow].add(hist)
        else:
            into.flow_latency[flow] = _copy(hist)
    room = MAX_EXAMPLES - len(into.examples_incorrect)
    into.examples_incorrect.extend(part.examples_incorrect[: max(room, 0)])
    if part.sent or part.answered:
        into.started = part.started if not into.ended else min(into.started, part.started)
        into.ended = max(into.ended, part.ended)


def _copy(hist: HdrHistogram) -> HdrHistogram:
    out = new_histogram(hist.significant_figures)
    out.add(hist)
    return out


def totals(phases: list[PhaseLedger]) -> Totals:
    """The whole run as one ledger; histograms are merged, not averaged."""
    merged = new_histogram()
    for p in phases:
        merged.add(p.latency)
    answered = sum(p.answered for p in phases)
    elapsed = sum(max(p.ended - p.started, 0.0) for p in phases) or 1e-9
    return Totals(
        sent=sum(p.sent for p in phases),
        answered=answered,
        timed_out=sum(p.timed_out for p in phases),
        dead_lettered=sum(p.dead_lettered for p in phases),
        incorrect=sum(p.incorrect for p in phases),
        late_sends=sum(p.late_sends for p in phases),
        lost=sum(p.lost for p in phases),
        latency_ms=latency_summary(merged),
        throughput_tps=round(answered / elapsed, 2),
    )
