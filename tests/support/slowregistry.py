"""A registry too slow for its load, on the in-memory twin: `slots` connections at `service_s`
a verification, taking a request up only when a connection is free, so what it cannot take
waits on the bus as consumer lag; it answers in order, after its requesters have given up too."""

from __future__ import annotations

import asyncio
import time

from loadtests.measure.timeline import Pressure
from services.kafka.twin import MemoryBus
from services.wire.codec import Codec
from services.wire.messages import VerificationAnswered, VerificationRequested
from services.wire.topics import REGISTRY_GROUP, VERIFY, reply_topic
from services.world.population import Population

__all__ = ["SlowRegistry"]


class SlowRegistry:
    def __init__(
        self, bus: MemoryBus, codec: Codec, service_s: float, population: Population, slots: int = 1
    ) -> None:
        self.bus, self.codec, self.service_s, self.slots = bus, codec, service_s, slots
        self.population = population
        self.consumer = bus.consumer([VERIFY.name], "registry-slow", REGISTRY_GROUP)
        self.producer = bus.producer("registry-slow")
        self.busy = 0
        self.answered = 0

    async def run(self) -> None:
        """Serves until cancelled."""
        await self.consumer.start()
        await self.producer.start()
        free = asyncio.Semaphore(self.slots)
        serving: set[asyncio.Task[None]] = set()
        try:
            while True:
                await free.acquire()
                records = await self.consumer.getmany(timeout_ms=50, max_records=1)
                if not records:
                    free.release()
                    continue
                task = asyncio.create_task(self._serve(records[0].value or b"", free))
                serving.add(task)
                task.add_done_callback(serving.discard)
        finally:
            for task in list(serving):
                task.cancel()
            await self.consumer.stop()

    async def _serve(self, data: bytes, free: asyncio.Semaphore) -> None:
        self.busy += 1
        try:
            request = self.codec.decode(data)
            assert isinstance(request, VerificationRequested)
            received = time.time_ns() // 1000
            await asyncio.sleep(self.service_s)
            answer = VerificationAnswered(
                request_id=request.request_id,
                requester=request.requester,
                responder="registry-slow",
                outcome=self._verdict(request),
                answered_at_us=time.time_ns() // 1000,
                received_at_us=received,
                service_us=round(self.service_s * 1e6),
            )
            topic = reply_topic(request.requester)
            await self.producer.send(topic, self.codec.encode(answer), request.request_id.encode())
            self.answered += 1
        finally:
            self.busy -= 1
            free.release()

    def _verdict(self, request: VerificationRequested) -> str:
        """The procedural truth for a request that presents the record as it is (the run
        plays no wrong names or dates and reports no deaths)."""
        citizen = self.population.citizen(request.citizen_id)
        if citizen is None:
            return "NOT_FOUND"
        return "DECEASED" if citizen.deceased else "MATCH"

    def pressure(self) -> Pressure:
        """What a scrape of its /metrics would say now."""
        lag = float(sum(self.consumer.lag().values()))
        return Pressure(time.time(), lag, float(self.busy), float(self.slots), float(self.busy))
