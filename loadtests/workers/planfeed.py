"""A worker's view of `ndx.run.plans`: the run it joins and the commands of that run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from pydantic import ValidationError

from loadtests.stack import WORK_PLANS
from loadtests.workers.workplan import Command, PlanMessage, WorkPlan
from services.kafka import Transport
from services.process import cancel

log = logging.getLogger("ndx.worker")
RECENT_S = 600.0  # with no run named, a worker joins only a plan announced this recently


class PlanFeed:
    """Reads the plans topic from its beginning; follows one run once a plan is chosen."""

    def __init__(self, transport: Transport, client_id: str, run_id: str | None) -> None:
        self.consumer = transport.consumer([WORK_PLANS.name], client_id, None, True)
        self.wanted = run_id
        self.plans: dict[str, WorkPlan] = {}
        self.ended: set[str] = set()
        self.chosen: WorkPlan | None = None
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self._news = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._follow(), name="plans")

    async def stop(self) -> None:
        await cancel([self._task])
        await self.consumer.stop()

    async def plan(self, limit_s: float) -> WorkPlan | None:
        """The run to join: the one named, else the latest recent plan not yet ended."""
        deadline = time.monotonic() + limit_s
        while (found := self._choose()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), left)
        self.chosen = found
        return found

    def _choose(self) -> WorkPlan | None:
        if self.wanted is not None:
            return self.plans.get(self.wanted)
        since = time.time() - RECENT_S
        recent = [
            p for p in self.plans.values() if p.run_id not in self.ended and p.announced_at > since
        ]
        return max(recent, key=lambda p: p.announced_at, default=None)

    async def _follow(self) -> None:
        while True:
            for rec in await self.consumer.getmany(timeout_ms=500, max_records=100):
                try:
                    message = PlanMessage.validate_json(rec.value or b"")
                except ValidationError:
                    log.warning("ignoring an unreadable plan message at offset %d", rec.offset)
                    continue
                if isinstance(message, WorkPlan):
                    self.plans[message.run_id] = message
                elif message.kind == "end":
                    self.ended.add(message.run_id)
                if (
                    isinstance(message, Command)
                    and self.chosen is not None
                    and message.run_id == self.chosen.run_id
                ):
                    self.commands.put_nowait(message)
            self._news.set()
