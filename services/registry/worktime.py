"""The population database's own work per request, as the design's service-time model says."""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque

from services.config import Z99, ServiceTime
from services.process import MONOTONIC, Clock, metrics

__all__ = ["Database"]


class Database:
    """Stands for the real database: `concurrency` requests in service at once, each taking a
    drawn service time, so the registry's capacity is the design's and not the mimic's.

    Slots are handed over first come, first served (a freed slot goes straight to the longest
    waiter, never to a newcomer), so the registry queues as the ideal FIFO queue it is held to.
    """

    def __init__(
        self,
        spec: ServiceTime,
        concurrency: int,
        rng: random.Random,
        service: str = "registry",
        clock: Clock = MONOTONIC,
    ) -> None:
        self.spec, self.rng, self.concurrency, self.clock = spec, rng, concurrency, clock
        self.busy = self.peak = 0  # requests in service now, and at most so far
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._free = concurrency
        self._sigma = 0.0
        if spec.model == "lognormal" and spec.p50_ms and spec.p99_ms:
            self._sigma = math.log(spec.p99_ms / spec.p50_ms) / Z99
        self._busy_gauge = metrics.SLOTS_BUSY.labels(service)
        self._wait_hist = metrics.SLOT_WAIT.labels(service)
        self._service_hist = metrics.SERVICE_TIME.labels(service)
        metrics.SLOTS.labels(service).set(0 if self.idle else concurrency)

    @property
    def idle(self) -> bool:
        """True when the model adds no work: handlers need not wait for a slot."""
        return self.spec.model == "none" or (self.spec.model == "fixed" and not self.spec.ms)

    def draw_s(self) -> float:
        """One request's service time in seconds."""
        if self.spec.model == "fixed":
            return (self.spec.ms or 0.0) / 1000
        if self.spec.model == "lognormal" and self.spec.p50_ms:
            return self.spec.p50_ms * math.exp(self._sigma * self.rng.gauss(0.0, 1.0)) / 1000
        return 0.0

    async def work(self) -> float:
        """Hold a slot for one request's drawn service time; returns the draw in seconds."""
        if self.idle:
            return 0.0
        asked = self.clock.now()
        await self._acquire()
        self._wait_hist.observe(self.clock.now() - asked)
        self.busy += 1
        self.peak = max(self.peak, self.busy)
        self._busy_gauge.set(self.busy)
        drawn = self.draw_s()
        try:
            await self.clock.sleep(drawn)
        finally:
            self.busy -= 1
            self._busy_gauge.set(self.busy)
            self._release()
        self._service_hist.observe(drawn)
        return drawn

    async def _acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._release()  # a slot handed over to a cancelled waiter is passed on
            else:
                self._waiters.remove(turn)
            raise

    def _release(self) -> None:
        """Hand the freed slot straight to the longest waiter, else keep it free."""
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1
