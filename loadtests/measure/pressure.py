"""The registry's pressure during a run, scraped every second from its instances' /metrics:
how far its consumer group is behind (consumer lag), how many of its database connections hold
a request (slots busy, of slots) and how many records its loops hold. Each scrape goes into the
run's timeline, on the wall clock, so the report draws it on the same time axis as the offered
rate and the goodput."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from loadtests.measure.counters import Series, read_all
from loadtests.measure.growth import IN_HAND, LAG, QUEUE_GAUGES, SLOTS, SLOTS_BUSY
from loadtests.measure.timeline import Pressure, Timeline
from services.process import cancel
from services.wire import REGISTRY_GROUP

__all__ = ["GAUGES", "PressureMeter", "pressure_of"]

GAUGES = QUEUE_GAUGES  # the registry's queue gauges, as the period measures read them


def _summed(values: list[float]) -> float | None:
    return sum(values) if values else None


def pressure_of(
    scrapes: Sequence[tuple[str, dict[Series, float], float | None]],
    wall: float,
    group: str = REGISTRY_GROUP,
) -> Pressure:
    """One scrape of every instance, summed: lag over `group`'s topics, slots over services.
    A gauge no instance shows is None (not 0): the chart leaves a gap, not a false zero."""
    lag: list[float] = []
    busy: list[float] = []
    slots: list[float] = []
    hand: list[float] = []
    for _instance, samples, _started in scrapes:
        for (name, labels), value in samples.items():
            if name == LAG and dict(labels).get("group") == group:
                lag.append(value)
            elif name == SLOTS_BUSY:
                busy.append(value)
            elif name == SLOTS:
                slots.append(value)
            elif name == IN_HAND:
                hand.append(value)
    return Pressure(wall, _summed(lag), _summed(busy), _summed(slots), _summed(hand))


class PressureMeter:
    """Scrapes the registry instances every `interval_s` into the timeline, in the background."""

    def __init__(self, registry_ports: list[int], into: Timeline, interval_s: float = 1.0) -> None:
        self.sources = [(p, GAUGES) for p in registry_ports]
        self.into, self.interval_s = into, interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._every(), name="registry-pressure")

    async def stop(self) -> None:
        await cancel([self._task])
        self._task = None

    async def _every(self) -> None:
        while True:
            await self.scrape()
            await asyncio.sleep(self.interval_s)

    async def scrape(self) -> Pressure:
        scrapes = await asyncio.to_thread(read_all, self.sources)
        sample = pressure_of(scrapes, time.time())
        if scrapes:  # no instance answered (all restarting): nothing is known, nothing kept
            self.into.sample(sample)
        return sample
