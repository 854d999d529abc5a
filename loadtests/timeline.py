"""The run second by second: answers and latency, for the live view and the report charts."""

from __future__ import annotations

from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from loadtests.ledger import HIGHEST_US, LOWEST_US, latency_summary, new_histogram
from loadtests.reportmodel import TimelineSecond


@dataclass
class Second:
    phase: str
    answered: int = 0
    latency: HdrHistogram = field(default_factory=lambda: new_histogram(2))


class Timeline:
    """One bucket per second since the run started; a bucket is named after its first phase."""

    def __init__(self) -> None:
        self.seconds: list[Second] = []

    def record(self, index: int, phase: str, latency_s: float) -> None:
        while len(self.seconds) <= index:
            self.seconds.append(Second(phase))
        bucket = self.seconds[index]
        bucket.answered += 1
        bucket.latency.record_value(max(LOWEST_US, min(HIGHEST_US, int(latency_s * 1e6))))

    def last_complete(self) -> Second | None:
        """The latest second that is over (the current one is still filling)."""
        if len(self.seconds) >= 2:
            return self.seconds[-2]
        return self.seconds[-1] if self.seconds else None

    def as_report(self) -> list[TimelineSecond]:
        return [
            TimelineSecond(
                t=i, phase=s.phase, answered=s.answered, latency_ms=latency_summary(s.latency)
            )
            for i, s in enumerate(self.seconds)
        ]
