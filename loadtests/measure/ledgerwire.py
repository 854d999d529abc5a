"""Ledgers and timelines as workers send them: counters, and histograms encoded with hdrh so the
coordinator adds them (percentiles are never averaged)."""

from __future__ import annotations

from collections import Counter

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel

from loadtests.measure.ledger import MAX_EXAMPLES, PhaseLedger
from loadtests.measure.timeline import Timeline
from loadtests.report import IncorrectExample
from services.wire.messages import Outcome


def encode(hist: HdrHistogram) -> str:
    return bytes(hist.encode()).decode("ascii")


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


class LedgerWire(BaseModel):
    """One worker's ledger of one period; `started`/`ended` count from the run's common start."""

    name: str
    target_rate: float
    online_target: float | None = None
    sent: int = 0
    answered: int = 0
    timed_out: int = 0
    dead_lettered: int = 0
    incorrect: int = 0
    late_sends: int = 0
    retries: int = 0
    late_answers: int = 0
    change_deliveries: int = 0
    outcomes: dict[Outcome, int] = {}
    flows: dict[str, int] = {}
    agencies: dict[str, int] = {}
    dossiers: dict[str, int] = {}
    latency: str = ""
    flow_latency: dict[str, str] = {}
    started: float = 0.0
    ended: float = 0.0
    examples_incorrect: list[IncorrectExample] = []
    raced: int = 0
    queue: str = ""  # the period's queue sample (QueueSample.encode), merged by the report
    late_by_requester: dict[str, int] = {}  # answers that came after their requester gave up

    @classmethod
    def of(cls, ledger: PhaseLedger, t0: float) -> LedgerWire:
        return cls(
            name=ledger.name,
            target_rate=ledger.target_rate,
            online_target=ledger.online_target,
            sent=ledger.sent,
            answered=ledger.answered,
            timed_out=ledger.timed_out,
            dead_lettered=ledger.dead_lettered,
            incorrect=ledger.incorrect,
            late_sends=ledger.late_sends,
            retries=ledger.retries,
            late_answers=ledger.late_answers,
            change_deliveries=ledger.change_deliveries,
            outcomes=dict(ledger.outcomes),
            flows=dict(ledger.flows),
            agencies=dict(ledger.agencies),
            dossiers=dict(ledger.dossiers),
            latency=encode(ledger.latency),
            flow_latency={f: encode(h) for f, h in ledger.flow_latency.items()},
            started=ledger.started - t0,
            ended=ledger.ended - t0,
            examples_incorrect=list(ledger.examples_incorrect),
            raced=ledger.raced,
        )

    def ledger(self) -> PhaseLedger:
        out = PhaseLedger(self.name, self.target_rate, online_target=self.online_target)
        add(out, self)
        out.started, out.ended = self.started, self.ended
        return out


def add(into: PhaseLedger, part: LedgerWire) -> None:
    """Adds one worker's period to the merged ledger: counts summed, histograms added."""
    for name in (
        "sent",
        "answered",
        "timed_out",
        "dead_lettered",
        "incorrect",
        "late_sends",
        "retries",
        "late_answers",
        "change_deliveries",
        "raced",
    ):
        setattr(into, name, getattr(into, name) + getattr(part, name))
    into.outcomes.update(Counter(part.outcomes))
    into.flows.update(Counter(part.flows))
    into.agencies.update(Counter(part.agencies))
    into.dossiers.update(Counter(part.dossiers))
    if part.latency:
        into.latency.add(decode(part.latency))
    for flow, text in part.flow_latency.items():
        hist = decode(text)
        if flow in into.flow_latency:
            into.flow_latency[flow].add(hist)
        else:
            into.flow_latency[flow] = hist
    room = MAX_EXAMPLES - len(into.examples_incorrect)
    into.examples_incorrect.extend(part.examples_incorrect[: max(room, 0)])
    if part.sent or part.answered:
        into.started = part.started if not into.ended else min(into.started, part.started)
        into.ended = max(into.ended, part.ended)


class SecondWire(BaseModel):
    """One second of a worker's timeline (see TimelineSecond for what each count means)."""

    t: int
    phase: str
    answered: int
    latency: str
    timed_out: int = 0
    late_answers: int = 0
    retries: int = 0
    offered: int = 0


def timeline_wire(timeline: Timeline, since: int = 0) -> list[SecondWire]:
    """The seconds from `since` on in which anything happened (a worker sends each period's
    seconds once)."""
    return [
        SecondWire(
            t=i,
            phase=s.phase,
            answered=s.answered,
            latency=encode(s.latency),
            timed_out=s.timed_out,
            late_answers=s.late_answers,
            retries=s.retries,
            offered=s.offered,
        )
        for i, s in enumerate(timeline.seconds)
        if i >= since and s.busy
    ]


def add_seconds(into: Timeline, seconds: list[SecondWire]) -> None:
    """A worker's seconds added into the merged timeline: counts summed, histograms added."""
    for s in seconds:
        bucket = into.second(s.t, s.phase)
        bucket.answered += s.answered
        bucket.timed_out += s.timed_out
        bucket.late_answers += s.late_answers
        bucket.retries += s.retries
        bucket.offered += s.offered
        bucket.latency.add(decode(s.latency))
