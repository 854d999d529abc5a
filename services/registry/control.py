"""The run under way, announced on the cluster: a registry answers only a run it agrees with.

The coordinator announces each run's fingerprint (population seed, topology, audit key) when it
starts and ends; a registry whose own fingerprint differs stands aside until that run is over,
rather than answering from another population.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Literal

from pydantic import BaseModel, ValidationError

from services.config import RunConfig
from services.kafka import Consumer, Transport
from services.process import cancel
from services.wire import CONTROL

__all__ = ["RunAnnounced", "RunWatch", "announce"]

log = logging.getLogger("ndx.control")
KEY = b"run"
State = Literal["running", "ended"]


class RunAnnounced(BaseModel):
    """A run began or ended; `fingerprint` is what every side of it must share."""

    run_id: str
    fingerprint: str
    state: State
    at: float


async def announce(transport: Transport, config: RunConfig, state: State) -> None:
    """Tell every service on the cluster which run is under way (or that it ended)."""
    producer = transport.producer("ndxsim.control")
    await producer.start()
    try:
        news = RunAnnounced(
            run_id=config.run_id, fingerprint=config.fingerprint, state=state, at=time.time()
        )
        await (await producer.send(CONTROL.name, news.model_dump_json().encode(), key=KEY))
    finally:
        await producer.stop()


class RunWatch:
    """Follows the announcements; `foreign()` names a running run this side must not join."""

    def __init__(self, transport: Transport, client_id: str, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.consumer: Consumer = transport.consumer([CONTROL.name], client_id, None, True)
        self.latest: RunAnnounced | None = None
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        while not await self.consumer.at_end():
            await self._read(100)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        await cancel([self._task])
        await self.consumer.stop()

    def foreign(self) -> RunAnnounced | None:
        run = self.latest
        if run is not None and run.state == "running" and run.fingerprint != self.fingerprint:
            return run
        return None

    async def _follow(self) -> None:
        while True:
            await self._read(500)

    async def _read(self, timeout_ms: int) -> None:
        for rec in await self.consumer.getmany(timeout_ms=timeout_ms, max_records=100):
            try:
                self.latest = RunAnnounced.model_validate_json(rec.value or b"")
            except ValidationError:
                log.warning("ignoring an unreadable run announcement at offset %d", rec.offset)
                continue
            self.changed.set()
