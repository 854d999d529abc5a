"""What the driver reads besides answers: confirmed changes, and subscribing ministries' feeds."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence

from services.kafka.transport import Consumer, Transport
from services.loop.runtime import ServiceLoop
from services.ministry.replica import CitizenReplica
from services.ministry.subscriber import handle_change
from services.ministry.tally import tally_for
from services.process.background import cancel
from services.requester.agency import AgencyClient
from services.wire.codec import Codec, CodecError
from services.wire.messages import CitizenChanged
from services.wire.topics import CHANGES, change_group


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


class Subscribers:
    """Ministries with the subscribe role take in every change, each in its own group."""

    def __init__(
        self,
        transports: Callable[[str], Transport],
        codec: Codec,
        clients: Mapping[str, AgencyClient],
        ministries: Sequence[str],
        replicas: Mapping[str, CitizenReplica],
    ) -> None:
        self.loops = [
            ServiceLoop(
                m,
                change_group(m),
                transports(m).consumer(
                    [CHANGES.name], client_id=f"{m}.changes", group_id=change_group(m)
                ),
                clients[m].producer,
                codec,
                {CitizenChanged: functools.partial(handle_change, replica=replicas.get(m))},
                tally=tally_for(m),
            )
            for m in ministries
        ]
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._counted = 0

    async def start(self) -> None:
        for loop in self.loops:
            await loop.consumer.start()
            self._tasks.append(asyncio.create_task(loop.run(self._stop)))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await asyncio.gather(*(loop.consumer.stop() for loop in self.loops), return_exceptions=True)

    def pause(self, ministry: str) -> None:
        for loop in self.loops:
            if loop.service == ministry:
                loop.consumer.pause()

    def resume(self, ministry: str) -> None:
        for loop in self.loops:
            if loop.service == ministry:
                loop.consumer.resume()

    def take_deliveries(self) -> int:
        """Deliveries since the last call."""
        total = sum(loop.handled for loop in self.loops)
        taken, self._counted = total - self._counted, total
        return taken
