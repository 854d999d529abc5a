"""The consume -> handle -> publish loop every service runs, with dead letters and clean stops."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.shared import metrics
from services.shared.codec import Codec
from services.shared.deadletters import DeadLetters
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
from services.shared.flights import Flight, next_offsets
from services.shared.handled import Handled, Outgoing
from services.shared.readiness import Readiness
from services.shared.rereads import Rereads, describe
from services.shared.transport import Consumer, Producer, Record

__all__ = ["DeadLetter", "Handler", "Outgoing", "Refusal", "ServiceLoop", "Tally", "admit_all"]

log = logging.getLogger("ndx.runtime")
DELIVERY_LIMIT_S = 60.0  # outputs not durable by then are written again after a rewind
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
        self.letters = DeadLetters(producer, service)
        self.handled = 0
        self._stop = asyncio.Event()
        self._flights: deque[Flight] = deque()
        self._durable: list[Flight] = []
        self._last_commit = 0.0
        self._hand = asyncio.Lock()  # the loop and a rebalance's drain take turns with flights
        consumer.before_revoke(self._drain)

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        last_lag, self._last_commit = 0.0, time.monotonic()
        try:
            while not stop.is_set():
                await self.readiness.hold(stop)  # outputs written now would only spin the producer
                records = await self.consumer.getmany(timeout_ms=POLL_MS, max_records=self.batch)
                if not self.readiness.started and self.consumer.assigned():
                    self.readiness.mark_started()
                async with self._hand:
                    if records:
                        await self._take(records)
                    await self._settle(everything=not records)
                if (now := time.monotonic()) - last_lag > 1.0:
                    last_lag = now
                    for topic, lag in self.consumer.lag().items():
                        metrics.CONSUMER_LAG.labels(self.group, topic).set(lag)
        finally:
            await self._drain()

    async def _drain(self) -> None:
        """Everything in hand made durable and committed: before a rebalance, or at the end."""
        async with self._hand:
            await self._settle(everything=True)

    async def _take(self, records: Sequence[Record]) -> None:
        if self.rereads.must_split(records):
            if await self._settle(everything=True):
                await self._split(records)
            return
        try:
            self._flights.append(await self._launch(records))
        except Exception as exc:  # an output was refused before it left
            if await self._settle(everything=True):
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

    async def _settle(self, everything: bool) -> bool:
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
            self._remember(flight)
            self._durable.append(flight)
        due = time.monotonic() - self._last_commit >= self.commit_interval_s
        if self._durable and (everything or due):
            return await self._commit()
        return True

    def _remember(self, flight: Flight) -> None:
        """Durable outputs are repeated, not decided again, if their request comes back."""
        for one in flight.handled:
            if one.key and not one.duplicate and not one.dead:
                self.dedup.put(one.key, one.outs)
                self.decider.fresh.pop(one.key, None)

    async def _commit(self) -> bool:
        flights, self._durable = self._durable, []
        self._last_commit = time.monotonic()
        try:
            kept = await self.consumer.commit(next_offsets(flights))
        except Exception as exc:  # outputs are durable: a re-read repeats them from memory
            await self._abandon(flights[0].records, exc, outage=True)
            return False
        for flight in flights:
            self.rereads.committed(flight.records)
            if kept:  # else the partitions' new owner reads and counts them
                self._count(flight.handled)
        return True

    async def _abandon(
        self, records: Sequence[Record], exc: BaseException, outage: bool = False
    ) -> None:
        """Go back to the last commit; later batches that became durable are remembered."""
        later, self._flights = list(self._flights), deque()
        for flight in later:
            await flight.wait(DELIVERY_LIMIT_S)
            if flight.error() is None:
                self._remember(flight)
            flight.abandon()
        self._durable, self.decider.fresh = [], {}
        metrics.BATCH_RETRIES.labels(self.service).inc()
        await self.rereads.again(
            self.consumer, records, self.service, type(exc).__name__, self._stop, outage
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
            self._remember(flight)
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

    def _count(self, handled: Sequence[Handled]) -> None:
        """After the commit: dead letters, duplicates and each fresh record's tally, once."""
        for one in handled:
            rec = one.rec
            if one.dead:
                metrics.DEAD_LETTERS.labels(self.service, one.dead).inc()
                if one.denied is not None:
                    metrics.DENIED.labels(*one.denied).inc()
                log.warning(
                    "%s: dead-lettered %s[%d]@%d: %s",
                    self.service,
                    rec.topic,
                    rec.partition,
                    rec.offset,
                    one.dead,
                )
                continue
            seen = self.dedup.get(one.key) if one.key else None
            if one.duplicate and (seen is None or seen.counted):
                metrics.DUPLICATE_REQUESTS.labels(self.service).inc()
                continue
            self.tally(one.message, one.outs, one.seconds)  # a first time, or its first count
            if one.key:
                self.dedup.put(one.key, one.outs)
                self.dedup.counted(one.key)
        self.handled += len(handled)
