"""Adding up what the workers measured (ledgers, progress, last word), apart from running them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from loadtests.measure.hops import HopLedger
from loadtests.measure.ledger import PhaseLedger, add
from loadtests.measure.queuesample import QueueSample
from loadtests.measure.timeline import Timeline, add_seconds
from loadtests.workers.results import WorkerState
from loadtests.workers.workplan import Progress

__all__ = [
    "add_progress",
    "late_by_requester",
    "live_ledger",
    "merge_done",
    "merge_period",
    "period_queue",
]


def add_progress(ledger: PhaseLedger, p: Progress) -> None:
    """What a worker sent in the period so far, answered or not."""
    ledger.add_counts(p.counts)


def merge_period(ledger: PhaseLedger, index: int, playing: Iterable[WorkerState]) -> None:
    """Each worker's ledger of period `index`, or its last progress when it died mid-period."""
    for w in playing:
        if index in w.periods:
            add(ledger, w.periods[index])
        elif w.progress is not None and w.progress.period == index:
            add_progress(ledger, w.progress)


def live_ledger(name: str, rate: float, index: int, workers: Iterable[WorkerState]) -> PhaseLedger:
    """The period playing now, from the workers' progress."""
    now = PhaseLedger(name, rate)
    for w in workers:
        if w.progress is not None and w.progress.period == index:
            add_progress(now, w.progress)
    return now


def merge_done(timeline: Timeline, hops: HopLedger, workers: Iterable[WorkerState]) -> None:
    """The timelines and hop ledgers the workers sent with their last word."""
    for w in workers:
        if w.done is not None:
            add_seconds(timeline, w.done.timeline)
            timeline.wall0 = timeline.wall0 or w.done.wall0  # every worker starts at one moment
            if w.done.hops is not None:
                hops.merge(HopLedger.decode(w.done.hops))


def period_queue(index: int, workers: Iterable[WorkerState]) -> tuple[QueueSample, int]:
    """Period `index`'s queue samples of every worker that finished it, added up; and how many
    workers that played it sent none (they died first: their requests are missing from it)."""
    merged, missing = QueueSample(), 0
    for w in workers:
        wire = w.periods.get(index)
        if wire is None:
            missing += w.progress is not None and w.progress.period == index
        elif wire.queue:
            merged.merge(QueueSample.decode(wire.queue))
    return merged, missing


def late_by_requester(index: int, workers: Iterable[WorkerState]) -> dict[str, int]:
    """Answers of period `index` that came after their requester gave up, by requester."""
    late: Counter[str] = Counter()
    for w in workers:
        if (wire := w.periods.get(index)) is not None:
            late.update(wire.late_by_requester)
    return dict(sorted(late.items()))
