"""The coordinator's view of its workers, read from `ndx.run.results`: who is in the group, what
each holds and claimed, its progress, its period ledgers and its last word, added up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from loadtests.measure import HopLedger, PhaseLedger, QueueSample, Timeline, add, add_seconds
from loadtests.stack import WORK_RESULTS
from loadtests.workers.mirror import Mirror
from loadtests.workers.workplan import (
    SESSION_TIMEOUT_S,
    Done,
    Hello,
    PeriodDone,
    Progress,
    Tick,
    WorkerMessage,
)
from services.kafka import Producer, Transport
from services.process import cancel

__all__ = [
    "Results",
    "WorkerState",
    "add_progress",
    "late_by_requester",
    "live_ledger",
    "merge_done",
    "merge_period",
    "period_queue",
]

log = logging.getLogger("ndx.coordinator")


GONE_SILENT_S = 2.0  # out of the group (or its process gone) and unheard this long: dead


DEAD_AFTER_S = SESSION_TIMEOUT_S + 2 * GONE_SILENT_S  # from its last heartbeat to "dead"


TICK_GAP_S = 3.0  # the coordinator ticks every second: a longer gap means the cluster is away


CLUSTER_SILENT_S = 120.0  # nobody heard at all: the cluster is away; a worker is dead after this


@dataclass
class WorkerState:
    name: str
    host: str = ""
    pid: int = 0
    held: list[int] = field(default_factory=list)
    claimed: list[int] | None = None  # set once it said ready
    last_seen: float = field(default_factory=time.monotonic)
    progress: Progress | None = None
    periods: dict[int, PhaseLedger] = field(default_factory=dict)
    heard_ahead: dict[int, float] = field(default_factory=dict)  # per period, see PeriodDone
    done: Done | None = None
    dead: bool = False
    death: str = ""  # how it was found dead
    taken_over: set[int] = field(default_factory=set)

    def silent_for(self) -> float:
        return time.monotonic() - self.last_seen


class Results:
    """Follows the results topic from the moment it starts (nothing of this run is missed)."""

    def __init__(self, transport: Transport, run_id: str) -> None:
        self.consumer = transport.consumer([WORK_RESULTS.name], "ndxsim.results", None, False)
        self.run_id = run_id
        self.workers: dict[str, WorkerState] = {}
        self.mirror = Mirror()
        self._news = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ticking: asyncio.Task[None] | None = None
        self.last_heard = self.resumed = time.monotonic()

    def dead(self, w: WorkerState, exited: bool, left_group: bool) -> bool:
        """Out of the run's consumer group (Kafka's own failure detection: its heartbeats
        stopped) or its local process gone, and unheard since, while the cluster is up (the
        coordinator hears its own ticks); while the cluster is away a silence is nobody's, and
        only a much longer one counts."""
        if w.done is not None or w.dead:
            return w.dead
        now = time.monotonic()
        up = now - self.last_heard < TICK_GAP_S
        unheard = now - max(w.last_seen, self.resumed) > GONE_SILENT_S
        why = (
            "its process exited"
            if exited
            else "it left the run's consumer group"
            if left_group
            else f"silent {CLUSTER_SILENT_S:.0f} s"
        )
        if (up and unheard and (exited or left_group)) or w.silent_for() > CLUSTER_SILENT_S:
            log.warning("worker %s (pid %d on %s) is gone: %s", w.name, w.pid, w.host, why)
            w.dead, w.death = True, why
        return w.dead

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._follow(), name="results")

    def tick_with(self, out: Producer) -> None:
        """Echo a tick every second through the cluster (see `dead`)."""
        self._ticking = asyncio.create_task(self._tick(out), name="ticks")

    async def _tick(self, out: Producer) -> None:
        data = Tick(run_id=self.run_id).model_dump_json().encode()
        while True:
            with contextlib.suppress(Exception):  # a lost tick is what an outage looks like
                await out.send(WORK_RESULTS.name, data, key=self.run_id.encode())
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        await cancel([self._task, self._ticking])
        await self.consumer.stop()

    async def until(self, condition: Callable[[], bool], limit_s: float | None = None) -> bool:
        """Wait until `condition()` holds (checked on news and twice a second) or the limit."""
        deadline = None if limit_s is None else time.monotonic() + limit_s
        while not condition():
            if deadline is not None and time.monotonic() > deadline:
                return False
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), 0.5)
        return True

    def ready(self) -> list[WorkerState]:
        return [w for w in self.workers.values() if w.claimed is not None]

    async def _follow(self) -> None:
        while True:
            for rec in await self.consumer.getmany(timeout_ms=500, max_records=500):
                try:
                    message = WorkerMessage.validate_json(rec.value or b"")
                except ValidationError:
                    log.warning("ignoring an unreadable worker result at offset %d", rec.offset)
                    continue
                if message.run_id == self.run_id:
                    self._take(message)
            self._news.set()

    def _take(self, message: Hello | Progress | PeriodDone | Done | Tick) -> None:
        now = time.monotonic()
        if now - self.last_heard > TICK_GAP_S:
            self.resumed = now  # back after an outage: silences count from now
        self.last_heard = now
        if isinstance(message, Tick):
            return
        w = self.workers.setdefault(message.worker, WorkerState(message.worker))
        w.last_seen = now
        if isinstance(message, Hello):
            w.host, w.pid, w.held = message.host, message.pid, message.shares
            if message.ready:
                w.claimed = message.shares
        elif isinstance(message, Progress):
            w.progress = message
            self.mirror.take(w.name, message.counters)
            w.taken_over |= set(message.taken_over)
        elif isinstance(message, PeriodDone):
            w.periods[message.period] = message.ledger
            if message.heard_ahead_s is not None:
                w.heard_ahead[message.period] = message.heard_ahead_s
        else:
            w.done = message
            self.mirror.take(w.name, message.counters)


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
