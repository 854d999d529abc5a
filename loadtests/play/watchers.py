"""What the driver reads besides answers: the registry's confirmed changes."""

from __future__ import annotations

import asyncio

from services.kafka import Consumer, Transport
from services.process import cancel
from services.wire import CHANGES, CitizenChanged, Codec, CodecError

__all__ = ["ChangeWatch"]


class ChangeWatch:
    """Knows every citizen the registry has a change for, and matches new changes to the civil
    events that caused them."""

    def __init__(self, transport: Transport, codec: Codec, changed: set[str]) -> None:
        self.consumer: Consumer = transport.consumer(
            [CHANGES.name], client_id="driver.changes", from_beginning=True
        )
        self.codec, self.changed = codec, changed
        self._waiting: dict[str, asyncio.Future[CitizenChanged]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the change log so far: those citizens' records are no longer procedural."""
        await self.consumer.start()
        while not await self.consumer.at_end():
            await self._batch()
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        await cancel([self._task])
        await self.consumer.stop()

    def expect(self, event_id: str) -> asyncio.Future[CitizenChanged]:
        future: asyncio.Future[CitizenChanged] = asyncio.get_running_loop().create_future()
        self._waiting[event_id] = future
        return future

    async def wait(
        self, future: asyncio.Future[CitizenChanged], limit_s: float
    ) -> CitizenChanged | None:
        try:
            return await asyncio.wait_for(asyncio.shield(future), limit_s)
        except TimeoutError:
            return None

    def forget(self, event_id: str) -> None:
        self._waiting.pop(event_id, None)

    async def _read(self) -> None:
        while True:
            await self._batch()

    async def _batch(self) -> None:
        for rec in await self.consumer.getmany(timeout_ms=200, max_records=5000):
            try:
                change = self.codec.decode(rec.value or b"")
            except CodecError:
                continue
            if isinstance(change, CitizenChanged):
                self.changed.add(change.citizen_id)
                future = self._waiting.get(change.event_id)
                if future is not None and not future.done():
                    future.set_result(change)
