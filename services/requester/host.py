"""Hosts many requesting agencies in one process, each with its own clients, at a steady rate."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence

from services.requester.agency import AgencyClient, new_request_id
from services.wire import VerificationRequested
from services.world import Population

log = logging.getLogger("ndx.agencies")
BACKGROUND_PURPOSE = "public-service-dossier"

Province = Callable[[str], str | None]
Hold = Callable[[asyncio.Event], Awaitable[None]]


class AgencyHost:
    """Background traffic for `make up`: each agency verifies citizens at a Poisson rate."""

    def __init__(
        self,
        clients: Sequence[AgencyClient],
        population: Population,
        province_of: Province,
        seed: int,
    ) -> None:
        self.clients = list(clients)
        self.population, self.province_of = population, province_of
        self.rng = random.Random(seed)
        self.counter = 0

    async def start(self) -> None:
        """Every agency's clients start at once; when one fails the rest are cancelled and
        every client is stopped."""
        try:
            async with asyncio.TaskGroup() as starting:
                for client in self.clients:
                    starting.create_task(client.start())
        except BaseExceptionGroup as failed:
            await self.stop()
            raise failed.exceptions[0] from None
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.clients), return_exceptions=True)

    async def run(
        self, rate_per_agency: float, stop: asyncio.Event, hold: Hold | None = None
    ) -> None:
        """Send until stopped; `hold` returns once sending makes sense (the broker answers)."""
        if rate_per_agency <= 0 or not self.clients:
            await stop.wait()
            return
        tasks: set[asyncio.Task[object]] = set()
        total_rate = rate_per_agency * len(self.clients)
        while not stop.is_set():
            await asyncio.sleep(self.rng.expovariate(total_rate))
            if hold is not None:  # queued while the broker is away, records only spin the sender
                await hold(stop)
                if stop.is_set():
                    break
            client = self.rng.choice(self.clients)
            task = asyncio.create_task(client.request(self._verification(client.agency)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    def _verification(self, agency: str) -> VerificationRequested:
        citizen = self.population.draw_living(self.rng, self.province_of(agency))
        self.counter += 1
        return VerificationRequested(
            request_id=new_request_id(agency, self.counter),
            requester=agency,
            citizen_id=citizen.citizen_id,
            full_name=citizen.full_name,
            birth_date=citizen.birth_date,
            purpose=BACKGROUND_PURPOSE,
            service_code="",
            requested_at_us=time.time_ns() // 1000,
        )
