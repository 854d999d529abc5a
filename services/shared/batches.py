"""Batches in hand between handling and commit, kept apart from the loop that reads them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from services.shared import metrics
from services.shared.codec import Codec
from services.shared.counting import count, remember
from services.shared.deadletters import DeadLetters
from services.shared.decide import Decider, Tally
from services.shared.flights import Flight, next_offsets
from services.shared.handled import Handled
from services.shared.rereads import Rereads, describe
from services.shared.transport import Consumer, Producer, Record

__all__ = ["DELIVERY_LIMIT_S", "Batches"]

log = logging.getLogger("ndx.runtime")
DELIVERY_LIMIT_S = 60.0  # outputs not durable by then are written again after a rewind


class Batches:
    """Handles each batch, sends its outputs and commits durable batches in the order they were
    read (after each one, or on a cadence while input keeps coming, at once when it runs dry);
    only committed records are counted, so a batch read again counts once."""

    def __init__(
        self,
        service: str,
        consumer: Consumer,
        producer: Producer,
        codec: Codec,
        decider: Decider,
        tally: Tally,
        rereads: Rereads,
        concurrent: bool,
        commit_interval_s: float,
        max_flights: int,
    ) -> None:
        self.service, self.consumer, self.producer, self.codec = service, consumer, producer, codec
        self.decider, self.dedup, self.tally, self.rereads = decider, decider.dedup, tally, rereads
        self.concurrent, self.commit_interval_s = concurrent, commit_interval_s
        self.max_flights = max_flights
        self.letters = DeadLetters(producer, service)
        self.handled = 0
        self.stop = asyncio.Event()
        self._flights: deque[Flight] = deque()
        self._durable: list[Flight] = []
        self.last_commit = 0.0

    async def take(self, records: Sequence[Record]) -> None:
        if self.rereads.must_split(records):
            if await self.settle(everything=True):
                await self._split(records)
            return
        try:
            self._flights.append(await self._launch(records))
        except Exception as exc:  # an output was refused before it left
            if await self.settle(everything=True):
                await self._abandon(records, exc)

    async def _launch(self, records: Sequence[Record]) -> Flight:
        """Handle every record (at once when handlers wait on work) and queue their outputs."""
        if self.concurrent and len(records) > 1:
            handled = list(await asyncio.gather(*(self.decider.decide(r) for r in records)))
        else:
            handled = [await self.decider.decide(r) for r in records]
        flight = Flight(records, handled)
        try:
            for one in handled:
                flight.deliveries.extend(await self._send(one))
        except BaseException:
            flight.abandon()
            raise
        return flight

    async def settle(self, everything: bool) -> bool:
        """Move durable flights on (all of them when `everything`), commit when due.

        Returns False when a failure made the loop go back to its last commit.
        """
        while self._flights:
            flight = self._flights[0]
            if not flight.done():
                if not everything and len(self._flights) < self.max_flights:
                    break
                await flight.wait(DELIVERY_LIMIT_S)
            self._flights.popleft()
            if (exc := flight.error()) is not None:
                await self._abandon(flight.records, exc)
                return False
            remember(self.decider, flight)
            self._durable.append(flight)
        due = time.monotonic() - self.last_commit >= self.commit_interval_s
        if self._durable and (everything or due):
            return await self._commit()
        return True

    async def _commit(self) -> bool:
        flights, self._durable = self._durable, []
        self.last_commit = time.monotonic()
        try:
            kept = await self.consumer.commit(next_offsets(flights))
        except Exception as exc:  # outputs are durable: a re-read repeats them from memory
            await self._abandon(flights[0].records, exc, outage=True)
            return False
        for flight in flights:
            self.rereads.committed(flight.records)
            if kept:  # else the partitions' new owner reads and counts them
                count(self.service, self.dedup, self.tally, flight.handled)
                self.handled += len(flight.handled)
        return True

    async def _abandon(
        self, records: Sequence[Record], exc: BaseException, outage: bool = False
    ) -> None:
        """Go back to the last commit; later batches that became durable are remembered."""
        later, self._flights = list(self._flights), deque()
        for flight in later:
            await flight.wait(DELIVERY_LIMIT_S)
            if flight.error() is None:
                remember(self.decider, flight)
            flight.abandon()
        self._durable, self.decider.fresh = [], {}
        metrics.BATCH_RETRIES.labels(self.service).inc()
        await self.rereads.again(
            self.consumer, records, self.service, type(exc).__name__, self.stop, outage
        )

    async def _split(self, records: Sequence[Record]) -> None:
        """One record at a time, each committed, so the one whose outputs fail is found."""
        log.warning(
            "%s: %s keeps failing; handling its %d records one at a time",
            self.service,
            describe(records),
            len(records),
        )
        for i, rec in enumerate(records):
            try:
                flight = await self._launch([rec])
                await flight.wait(DELIVERY_LIMIT_S)
                exc = flight.error()
            except Exception as refused:  # refused before it left
                flight, exc = Flight([rec], []), refused
            if exc is not None:
                flight.abandon()
                try:
                    await self.letters.refer(rec, "unwritable_output", type(exc).__name__)
                except Exception as away:  # not even a reference: the broker is away
                    await self._abandon(records[i:], away, outage=True)
                    return
                flight.handled = [Handled(rec, dead="unwritable_output")]
            remember(self.decider, flight)
            self._durable.append(flight)
            if not await self._commit():
                return
        self.rereads.committed(records)

    async def _send(self, one: Handled) -> list[asyncio.Future[Any]]:
        if one.dead:
            return [await self.letters.queue(one.rec, one.dead, one.detail)]
        outs = one.outs if one.sends is None else one.sends
        return [
            await self.producer.send(o.topic, self.codec.encode(o.message), key=o.key) for o in outs
        ]
