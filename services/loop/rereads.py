"""Bounds re-reading: a batch that keeps failing is split, and an outage is waited out slowly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.kafka import Consumer, Record
from services.process import MONOTONIC, Clock, wait_event

log = logging.getLogger("ndx.runtime")

SPLIT_AFTER = 3  # failures of the same batch before its records are taken one at a time
SHOWN_PARTITIONS = 4

Start = tuple[str, int, int]  # topic, partition, first offset of a batch


def starts(records: Sequence[Record]) -> set[Start]:
    """Where the batch begins in each partition it holds."""
    first: dict[tuple[str, int], int] = {}
    for rec in records:
        tp = (rec.topic, rec.partition)
        first[tp] = min(first.get(tp, rec.offset), rec.offset)
    return {(t, p, o) for (t, p), o in first.items()}


def describe(records: Sequence[Record]) -> str:
    """`topic[partition]@first-last` for the first few partitions of a batch (bounded text)."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for rec in records:
        lo, hi = spans.get((rec.topic, rec.partition), (rec.offset, rec.offset))
        spans[(rec.topic, rec.partition)] = (min(lo, rec.offset), max(hi, rec.offset))
    shown = [f"{t}[{p}]@{lo}-{hi}" for (t, p), (lo, hi) in sorted(spans.items())]
    more = len(shown) - SHOWN_PARTITIONS
    return ", ".join(shown[:SHOWN_PARTITIONS]) + (f" and {more} more" if more > 0 else "")


@dataclass
class Backoff:
    """Pauses that double from `first_s` up to `cap_s`, back to `first_s` after a success."""

    first_s: float = 1.0
    cap_s: float = 10.0
    _next: float = 0.0

    def pause(self) -> float:
        now = self._next or self.first_s
        self._next = min(now * 2, self.cap_s)
        return now

    def reset(self) -> None:
        self._next = 0.0


@dataclass
class Rereads:
    """Counts the failures of each batch start, so the same batch is not re-read forever."""

    split_after: int = SPLIT_AFTER
    backoff: Backoff = field(default_factory=Backoff)
    _failures: dict[Start, int] = field(default_factory=dict)

    def failed(self, records: Sequence[Record]) -> int:
        """Count one failure of this batch; returns how often it has failed so far."""
        counts = []
        for start in starts(records):
            self._failures[start] = self._failures.get(start, 0) + 1
            counts.append(self._failures[start])
        return max(counts, default=0)

    def must_split(self, records: Sequence[Record]) -> bool:
        return any(self._failures.get(s, 0) >= self.split_after for s in starts(records))

    def committed(self, records: Sequence[Record]) -> None:
        """The batch's partitions moved on: forget their failures and end the backoff."""
        done = {(t, p) for t, p, _o in starts(records)}
        self._failures = {s: n for s, n in self._failures.items() if (s[0], s[1]) not in done}
        self.backoff.reset()

    async def again(
        self,
        consumer: Consumer,
        records: Sequence[Record],
        service: str,
        cause: str,
        stop: asyncio.Event,
        outage: bool = False,
        clock: Clock = MONOTONIC,
    ) -> None:
        """Count a failure, wait (growing, capped, cut short by `stop`), go back to the commit.

        The pause also bounds how often the warning is logged while the failure lasts.
        """
        failures = self.failed(records)
        pause = self.backoff.pause()
        what = "not even a dead-letter reference could be written" if outage else "not written"
        log.warning(
            "%s: outputs of %s %s (%s, failure %d of this batch); reading it again in %.1fs",
            service,
            describe(records),
            what,
            cause,
            failures,
            pause,
        )
        await wait_event(clock, stop, pause)
        while True:
            try:
                await consumer.rewind()
                return
            except Exception as exc:
                if stop.is_set():
                    return
                pause = self.backoff.pause()
                log.warning(
                    "%s: cannot go back to the last commit (%s); trying again in %.1fs",
                    service,
                    type(exc).__name__,
                    pause,
                )
                await wait_event(clock, stop, pause)
