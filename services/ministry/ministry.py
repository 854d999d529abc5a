"""The ministries one process plays: each subscriber's change-feed loop and, when the design
keeps them, the replicas that feed keeps current."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping

from services.config import Ministries
from services.kafka import Transport
from services.loop import ServiceLoop
from services.ministry.replica import CitizenReplica
from services.ministry.subscriber import handle_change
from services.ministry.tally import tally_for
from services.requester import AgencyClient
from services.wire import CHANGES, CitizenChanged, Codec, change_group

__all__ = ["Ministry"]


class Ministry:
    """Ministries with the subscribe role take in every change, each in its own group; with the
    design's cache, each keeps a replica of the citizens the registry confirmed to it.

    `subscribing` maps each subscribing ministry to the purposes its replica may answer.
    """

    def __init__(
        self,
        transports: Callable[[str], Transport],
        codec: Codec,
        clients: Mapping[str, AgencyClient],
        subscribing: Mapping[str, frozenset[str]],
        design: Ministries,
    ) -> None:
        self.replicas: dict[str, CitizenReplica] = (
            {m: CitizenReplica(m, p, design.cache_capacity) for m, p in subscribing.items()}
            if design.cache
            else {}
        )
        self.loops = [
            ServiceLoop(
                m,
                change_group(m),
                transports(m).consumer(
                    [CHANGES.name], client_id=f"{m}.changes", group_id=change_group(m)
                ),
                clients[m].producer,
                codec,
                {CitizenChanged: functools.partial(handle_change, replica=self.replicas.get(m))},
                tally=tally_for(m),
            )
            for m in subscribing
        ]
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

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
        """A slow subscriber: it stops reading its change feed until resumed."""
        for loop in self.loops:
            if loop.service == ministry:
                loop.consumer.pause()

    def resume(self, ministry: str) -> None:
        for loop in self.loops:
            if loop.service == ministry:
                loop.consumer.resume()

    @property
    def deliveries(self) -> int:
        """Change deliveries counted so far, over every subscriber."""
        return sum(loop.handled for loop in self.loops)
