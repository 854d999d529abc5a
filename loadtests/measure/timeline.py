"""The run second by second, for the live view and the report charts: what was offered, what came
back and how (answered in time, timed out, answered late, sent again), the latency, and the
registry's pressure (consumer lag, slots busy) sampled on the same clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel

from loadtests.measure.ledger import (
    HIGHEST_US,
    LOWEST_US,
    decode,
    encode,
    latency_summary,
    new_histogram,
)
from loadtests.report import TimelineSecond

__all__ = ["Pressure", "Second", "SecondWire", "Timeline", "add_seconds", "timeline_wire"]


@dataclass
class Second:
    """One second's counts, in the words of the report's tables (see TimelineSecond)."""

    phase: str
    answered: int = 0  # accepted by their requester, before its timeout: the goodput
    timed_out: int = 0
    late_answers: int = 0  # came after their requester had given up
    retries: int = 0
    offered: int = 0  # intended to be sent in this second
    latency: HdrHistogram = field(default_factory=lambda: new_histogram(2))

    @property
    def busy(self) -> bool:
        """Anything happened in it (a second of the wire worth sending)."""
        return bool(
            self.answered or self.timed_out or self.late_answers or self.retries or self.offered
        )


@dataclass(frozen=True)
class Pressure:
    """One scrape of every registry instance, summed: `wall` is the scrape's wall-clock time."""

    wall: float
    consumer_lag: float | None = None
    slots_busy: float | None = None
    slots: float | None = None
    in_hand: float | None = None


class Timeline:
    """One bucket per second since the run started; a bucket is named after its first phase.

    `wall0` is the wall clock at second 0 (the run's common start): it places the registry's
    scrapes, taken by the coordinator on its own clock, on the seconds the workers counted.
    """

    def __init__(self) -> None:
        self.seconds: list[Second] = []
        self.pressure: list[Pressure] = []
        self.wall0 = 0.0

    def second(self, index: int, phase: str = "") -> Second:
        """The bucket of second `index`, made when new with any before it: those in between
        (a gap between periods) and one made for a count of no period (a late answer) take the
        latest period's name, so a period's seconds start where it does."""
        if index < 0:
            raise ValueError(f"second {index} is before the run started")
        while len(self.seconds) <= index:
            last = self.seconds[-1].phase if self.seconds else phase
            name = phase if len(self.seconds) == index and phase else last
            self.seconds.append(Second(name))
        bucket = self.seconds[index]
        if phase and not bucket.phase:  # made for a late answer before any period was named
            bucket.phase = phase
        return bucket

    def record(self, index: int, phase: str, latency_s: float, timed_out: bool = False) -> None:
        """A request ended: answered in time, or (`timed_out`) its requester gave up."""
        bucket = self.second(index, phase)
        if timed_out:
            bucket.timed_out += 1
        else:
            bucket.answered += 1
        bucket.latency.record_value(max(LOWEST_US, min(HIGHEST_US, int(latency_s * 1e6))))

    def offer(self, index: int, phase: str) -> None:
        """A request whose intended send time falls in second `index`."""
        self.second(index, phase).offered += 1

    def late_answer(self, index: int) -> None:
        self.second(index).late_answers += 1

    def retry(self, index: int) -> None:
        self.second(index).retries += 1

    def sample(self, pressure: Pressure) -> None:
        self.pressure.append(pressure)

    def last_complete(self) -> Second | None:
        """The latest second that is over (the current one is still filling)."""
        if len(self.seconds) >= 2:
            return self.seconds[-2]
        return self.seconds[-1] if self.seconds else None

    def last_pressure(self) -> Pressure | None:
        return self.pressure[-1] if self.pressure else None

    def pressure_by_second(self) -> dict[int, Pressure]:
        """Each second's last scrape, for the seconds the run has (none before `wall0` is
        known, or outside the run's seconds)."""
        if not self.wall0:
            return {}
        out: dict[int, Pressure] = {}
        for p in self.pressure:
            index = int(p.wall - self.wall0) if p.wall >= self.wall0 else -1
            if 0 <= index < len(self.seconds):
                out[index] = p
        return out

    def as_report(self) -> list[TimelineSecond]:
        pressure = self.pressure_by_second()
        out = []
        for i, s in enumerate(self.seconds):
            p = pressure.get(i, Pressure(0.0))
            out.append(
                TimelineSecond(
                    t=i,
                    phase=s.phase,
                    answered=s.answered,
                    latency_ms=latency_summary(s.latency),
                    offered=s.offered,
                    timed_out=s.timed_out,
                    late_answers=s.late_answers,
                    retries=s.retries,
                    consumer_lag=p.consumer_lag,
                    slots_busy=p.slots_busy,
                    slots=p.slots,
                    in_hand=p.in_hand,
                )
            )
        return out


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
