"""Time as a dependency: what reads the time or waits takes a clock, so tests can move it."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["EVENT_LOOP", "MONOTONIC", "Clock", "EventLoopClock", "MonotonicClock", "wait_event"]


class Clock(Protocol):
    """Seconds on a clock that only moves forward, and a wait measured on it."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The process's monotonic clock: the service loop's and the database's."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class EventLoopClock:
    """The running event loop's clock: the one the agencies' clients time requests with."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


MONOTONIC = MonotonicClock()
EVENT_LOOP = EventLoopClock()


async def wait_event(clock: Clock, event: asyncio.Event, seconds: float) -> bool:
    """Until `event` is set or `seconds` pass on `clock`; True when the event was set."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait((waiter, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        timer.cancel()
    return event.is_set()
