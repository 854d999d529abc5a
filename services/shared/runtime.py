"""The consume -> handle -> publish loop every service runs, with dead letters and clean stops."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from services.shared import metrics
from services.shared.batches import Batches
from services.shared.codec import Codec
from services.shared.decide import (
    Admit,
    DeadLetter,
    Decider,
    Handler,
    Refusal,
    Tally,
    admit_all,
    no_tally,
)
from services.shared.handled import Outgoing
from services.shared.readiness import Readiness
from services.shared.rereads import Rereads
from services.shared.transport import Consumer, Producer

__all__ = ["DeadLetter", "Handler", "Outgoing", "Refusal", "ServiceLoop", "Tally", "admit_all"]

log = logging.getLogger("ndx.runtime")
MAX_FLIGHTS = 4  # batches whose outputs may be on their way while the next is read
POLL_MS = 100


class ServiceLoop:
    """Reads a batch, handles it, sends its outputs and reads on while they become durable.

    Only durable batches are committed (after each one, or on a cadence while input keeps
    coming, at once when it runs dry), in the order they were read, and only committed records
    are counted, so a batch read again counts once.
    """

    def __init__(
        self,
        service: str,
        group: str,
        consumer: Consumer,
        producer: Producer,
        codec: Codec,
        handlers: Mapping[type, Handler],
        request_id: Callable[[Any], str | None] = lambda _m: None,
        batch: int = 500,
        tally: Tally = no_tally,
        rereads: Rereads | None = None,
        readiness: Readiness | None = None,
        concurrent: bool = False,
        commit_interval_s: float = 0.0,
        max_flights: int = MAX_FLIGHTS,
        admit: Admit = admit_all,
    ) -> None:
        self.service, self.group = service, group
        self.readiness = readiness or Readiness(service)
        self.consumer, self.producer, self.codec = consumer, producer, codec
        self.handlers, self.request_id, self.batch = handlers, request_id, batch
        self.tally, self.concurrent, self.admit = tally, concurrent, admit
        self.commit_interval_s, self.max_flights = commit_interval_s, max_flights
        self.rereads = rereads or Rereads()
        self.decider = Decider(service, codec, handlers, request_id, admit)
        self.dedup = self.decider.dedup
        self.batches = Batches(
            service,
            consumer,
            producer,
            codec,
            self.decider,
            tally,
            self.rereads,
            concurrent,
            commit_interval_s,
            max_flights,
        )
        self.letters = self.batches.letters
        self._hand = asyncio.Lock()  # the loop and a rebalance's drain take turns with flights
        consumer.before_revoke(self._drain)

    @property
    def handled(self) -> int:
        """Records counted so far: committed ones, each once."""
        return self.batches.handled

    async def run(self, stop: asyncio.Event) -> None:
        self.batches.stop = stop
        last_lag, self.batches.last_commit = 0.0, time.monotonic()
        try:
            while not stop.is_set():
                await self.readiness.hold(stop)  # outputs written now would only spin the producer
                records = await self.consumer.getmany(timeout_ms=POLL_MS, max_records=self.batch)
                if not self.readiness.started and self.consumer.assigned():
                    self.readiness.mark_started()
                async with self._hand:
                    if records:
                        await self.batches.take(records)
                    await self.batches.settle(everything=not records)
                if (now := time.monotonic()) - last_lag > 1.0:
                    last_lag = now
                    for topic, lag in self.consumer.lag().items():
                        metrics.CONSUMER_LAG.labels(self.group, topic).set(lag)
        finally:
            await self._drain()

    async def _drain(self) -> None:
        """Everything in hand made durable and committed: before a rebalance, or at the end."""
        async with self._hand:
            await self.batches.settle(everything=True)
