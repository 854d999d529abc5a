"""The consume -> handle -> publish loop every service runs, with dead letters and clean stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

from services.kafka import Consumer, Producer
from services.loop.decide import (
    Admit,
    DeadLetter,
    Decider,
    Handler,
    Refusal,
    Tally,
    admit_all,
    no_tally,
)
from services.loop.handled import Outgoing
from services.loop.rereads import Rereads
from services.loop.window import Window
from services.process import MONOTONIC, Clock, Readiness, metrics
from services.wire import Codec

__all__ = ["DeadLetter", "Handler", "Outgoing", "Refusal", "ServiceLoop", "Tally", "admit_all"]

log = logging.getLogger("ndx.runtime")
POLL_MS = 100
LAG_EVERY_S = 1.0


class ServiceLoop:
    """Reads records into a bounded window and takes each up at once; its outputs leave the
    moment it is decided. When the window is full the loop pauses its partitions, so a queue
    that grows, grows in Kafka as consumer lag. Only durable records are committed (on a
    cadence while input keeps coming, at once when it runs dry), each partition up to its first
    record not yet durable, and only committed records are counted, so a record read again
    counts once.
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
        window: int | None = None,
        ordered: Collection[str] = (),
        admit: Admit = admit_all,
        clock: Clock = MONOTONIC,
    ) -> None:
        self.service, self.group = service, group
        self.readiness = readiness or Readiness(service)
        self.consumer, self.producer, self.codec = consumer, producer, codec
        self.handlers, self.request_id, self.batch = handlers, request_id, max(1, batch)
        self.tally, self.concurrent, self.admit = tally, concurrent, admit
        self.commit_interval_s, self.clock = commit_interval_s, clock
        self.rereads = rereads or Rereads()
        self.decider = Decider(service, codec, handlers, request_id, admit)
        self.dedup = self.decider.dedup
        self.window = Window(
            service,
            consumer,
            producer,
            codec,
            self.decider,
            tally,
            self.rereads,
            concurrent,
            commit_interval_s,
            window or self.batch,
            ordered,
            clock,
        )
        self.letters = self.window.letters
        self.paused = False
        self._hand = asyncio.Lock()  # the loop and a rebalance's drain take turns with the window
        consumer.before_revoke(self._drain)

    @property
    def handled(self) -> int:
        """Records counted so far: committed ones, each once."""
        return self.window.handled

    async def run(self, stop: asyncio.Event) -> None:
        self.window.stop = stop
        last_lag, self.window.last_commit = 0.0, self.clock.now()
        try:
            while not stop.is_set():
                await self.readiness.hold(stop)  # outputs written now would only spin the producer
                records = await self._read()
                if not self.readiness.started and self.consumer.assigned():
                    self.readiness.mark_started()
                async with self._hand:
                    if records:
                        await self.window.take(records)
                    # Ran dry: commit what is durable now. Paused: on the cadence, as when busy.
                    await self.window.settle(now=not records and not self.paused)
                if (now := self.clock.now()) - last_lag > LAG_EVERY_S:
                    last_lag = now
                    for topic, lag in self.consumer.lag().items():
                        metrics.CONSUMER_LAG.labels(self.group, topic).set(lag)
        finally:
            await self._drain()

    async def _read(self) -> list[Any]:
        """Up to the window's room. With none, pause the partitions and wait for progress;
        paused, read again once a quarter of the window is free, so that pausing does not
        flip with every record (a paused partition's prefetched records are fetched again)."""
        room = self.window.room()
        if room <= 0 or (self.paused and room < self.window.limit // 4):
            self.consumer.pause()  # again after a rebalance: new partitions start unpaused
            self.paused = True
            await self.window.progress(POLL_MS / 1000)
            return []
        if self.paused:
            self.consumer.resume()
            self.paused = False
        return await self.consumer.getmany(timeout_ms=POLL_MS, max_records=min(self.batch, room))

    async def _drain(self) -> None:
        """Everything in hand made durable and committed: before a rebalance, or at the end."""
        async with self._hand:
            await self.window.settle(everything=True)
