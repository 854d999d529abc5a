"""The coordinator's view of its workers, read from `ndx.run.results`: who is in the group, what
each holds and claimed, its progress, its period ledgers and its last word."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from loadtests.ledgerwire import LedgerWire
from loadtests.workplan import Done, Hello, PeriodDone, Progress, WorkerMessage
from services.shared.topics import WORK_RESULTS
from services.shared.transport import Transport

log = logging.getLogger("ndx.coordinator")
DEAD_AFTER_S = 10.0  # no word from a worker this long (session timeout of its group too): dead


@dataclass
class WorkerState:
    name: str
    host: str = ""
    pid: int = 0
    held: list[int] = field(default_factory=list)
    claimed: list[int] | None = None  # set once it said ready
    last_seen: float = field(default_factory=time.monotonic)
    progress: Progress | None = None
    periods: dict[int, LedgerWire] = field(default_factory=dict)
    done: Done | None = None
    dead: bool = False
    taken_over: set[int] = field(default_factory=set)

    def silent_for(self) -> float:
        return time.monotonic() - self.last_seen


class Results:
    """Follows the results topic from the moment it starts (nothing of this run is missed)."""

    def __init__(self, transport: Transport, run_id: str) -> None:
        self.consumer = transport.consumer([WORK_RESULTS.name], "ndxsim.results", None, False)
        self.run_id = run_id
        self.workers: dict[str, WorkerState] = {}
        self._news = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._follow(), name="results")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
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

    def _take(self, message: Hello | Progress | PeriodDone | Done) -> None:
        w = self.workers.setdefault(message.worker, WorkerState(message.worker))
        w.last_seen = time.monotonic()
        if isinstance(message, Hello):
            w.host, w.pid, w.held = message.host, message.pid, message.shares
            if message.ready:
                w.claimed = message.shares
        elif isinstance(message, Progress):
            w.progress = message
            w.taken_over |= set(message.taken_over)
        elif isinstance(message, PeriodDone):
            w.periods[message.period] = message.ledger
        else:
            w.done = message
