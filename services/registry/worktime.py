"""The population database's own work per request, as the design's service-time model says."""

from __future__ import annotations

import asyncio
import math
import random

from services.shared.design import Z99, ServiceTime

__all__ = ["Database"]


class Database:
    """Stands for the real database: `concurrency` requests in service at once, each taking a
    drawn service time, so the registry's capacity is the design's and not the mimic's."""

    def __init__(self, spec: ServiceTime, concurrency: int, rng: random.Random) -> None:
        self.spec, self.rng = spec, rng
        self._slots = asyncio.Semaphore(concurrency)
        self.busy = self.peak = 0  # requests in service now, and at most so far
        self._sigma = 0.0
        if spec.model == "lognormal" and spec.p50_ms and spec.p99_ms:
            self._sigma = math.log(spec.p99_ms / spec.p50_ms) / Z99

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

    async def work(self) -> None:
        """Hold a connection for one request's service time."""
        if self.idle:
            return
        async with self._slots:
            self.busy += 1
            self.peak = max(self.peak, self.busy)
            try:
                await asyncio.sleep(self.draw_s())
            finally:
                self.busy -= 1
