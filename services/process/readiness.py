"""ndx_service_ready tells the truth: 1 only while the service runs and its broker answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Protocol

from services.process import lograte, metrics
from services.process.background import cancel

log = logging.getLogger("ndx.broker")
PROBE_EVERY_S = 1.0  # while the broker answers
PROBE_TIMEOUT_S = 3.0  # one probe; an unreachable host must not hold it longer
BACKOFF_MAX_S = 3.0  # while it does not: 2, 3, 3 ... seconds (also the most readiness lags)


class Probe(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def check(self) -> None:
        """Returns once a broker answered a bounded request; raises when none did."""
        ...


class Readiness:
    """The readiness gauge of one service: started (consuming) and broker reachable."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._gauge = metrics.READY.labels(service)
        self.started = False
        self.reachable = True  # a service only starts once it has reached its broker
        self._answers = asyncio.Event()
        self._answers.set()

    def mark_started(self) -> None:
        self.started = True
        self._show()

    def mark_reachable(self, reachable: bool) -> None:
        self.reachable = reachable
        if reachable:
            self._answers.set()
        else:
            self._answers.clear()
        self._show()

    def _show(self) -> None:
        self._gauge.set(1 if self.started and self.reachable else 0)

    async def hold(self, stop: asyncio.Event) -> None:
        """Return once the broker answers again (at once if it does) or the service stops."""
        if self._answers.is_set():
            return
        waits = [asyncio.ensure_future(self._answers.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()


class BrokerWatch:
    """Probes the broker periodically, backing off while it is away, and keeps readiness true."""

    def __init__(
        self,
        probe: Probe,
        readiness: Readiness,
        where: str,
        every_s: float = PROBE_EVERY_S,
        timeout_s: float = PROBE_TIMEOUT_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self.probe, self.readiness, self.where = probe, readiness, where
        self.every_s, self.timeout_s, self.backoff_max_s = every_s, timeout_s, backoff_max_s
        self.outages = 0

    async def answers(self) -> str | None:
        """None when a broker answered in time, else why not (an exception's name)."""
        try:
            await asyncio.wait_for(self.probe.check(), self.timeout_s)
        except Exception as exc:  # aiokafka's errors, OSError, TimeoutError: all mean "not now"
            return type(exc).__name__
        return None

    async def run(self, stop: asyncio.Event) -> None:
        delay, down_since = self.every_s, 0.0
        while not stop.is_set():
            why = await self.answers()
            if why is None and down_since:
                suppressed = lograte.report_suppressed(log)
                log.info(
                    "%s: broker at %s answers again after %.1fs; ready (%d repeated "
                    "warnings were not shown)",
                    self.readiness.service,
                    self.where,
                    time.monotonic() - down_since,
                    suppressed,
                )
                down_since = 0.0
            elif why is not None and not down_since:
                down_since = time.monotonic()
                self.outages += 1
                log.warning(
                    "%s: no broker answers at %s (%s); not ready, probing with backoff",
                    self.readiness.service,
                    self.where,
                    why,
                )
            self.readiness.mark_reachable(why is None)
            delay = self.every_s if why is None else min(delay * 2, self.backoff_max_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)


@contextlib.asynccontextmanager
async def watching(probe: Probe, readiness: Readiness, where: str) -> AsyncIterator[BrokerWatch]:
    """Run a BrokerWatch beside the body; stopped and its probe closed on exit."""
    await probe.start()
    watch = BrokerWatch(probe, readiness, where)
    stop = asyncio.Event()
    task = asyncio.create_task(watch.run(stop), name=f"{readiness.service}-broker-watch")
    try:
        yield watch
    finally:
        stop.set()
        await cancel([task])  # a probe in flight may wait for its timeout; nobody needs its answer
        await probe.stop()
