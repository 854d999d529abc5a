"""The consume -> handle -> publish loop every service runs, with dead letters and clean stops."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from services.shared import metrics
from services.shared.bounds import oversized
from services.shared.codec import Codec, CodecError
from services.shared.deadletters import DeadLetters
from services.shared.handled import Deduplicator, Handled
from services.shared.handled import Outgoing as Outgoing  # handlers build these
from services.shared.readiness import Readiness
from services.shared.rereads import Rereads, describe
from services.shared.topics import TOPIC_OF
from services.shared.transport import Consumer, Producer, Record

log = logging.getLogger("ndx.runtime")
DELIVERY_LIMIT_S = 60.0  # outputs not durable by then are written again after a rewind


Handler = Callable[[Any], Awaitable[list[Outgoing]]]
Tally = Callable[[Any, list[Outgoing], float], None]
"""Counts one freshly handled record (message, its outputs, handler seconds) once committed."""


def no_tally(message: Any, outs: list[Outgoing], seconds: float) -> None:
    return None


class DeadLetter(Exception):
    """Raised by a handler for a well-formed record it must refuse; `reason` is a bounded label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


def _abandon(pending: Sequence[asyncio.Future[Any]]) -> None:
    """Outputs of a failed batch: our own tasks stop, the client's deliveries end unheeded."""
    for f in pending:
        if isinstance(f, asyncio.Task):
            f.cancel()
        f.add_done_callback(lambda done: done.cancelled() or done.exception())


class ServiceLoop:
    """Reads a batch, handles each record, waits until every output is durable, then commits.

    Counting happens after the commit, so a batch read again is counted once.
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
    ) -> None:
        self.service, self.group = service, group
        self.readiness = readiness or Readiness(service)
        self.consumer, self.producer, self.codec = consumer, producer, codec
        self.handlers, self.request_id, self.batch = handlers, request_id, batch
        self.tally = tally
        self.rereads = rereads or Rereads()
        self.dedup = Deduplicator()
        self.letters = DeadLetters(producer, service)
        self.handled = 0
        self._stop = asyncio.Event()
        self._fresh: dict[str, list[Outgoing]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        last_lag = 0.0
        ready = False
        while not stop.is_set():
            await self.readiness.hold(stop)  # outputs written now would only spin the producer
            records = await self.consumer.getmany(timeout_ms=100, max_records=self.batch)
            if not ready and self.consumer.assigned():
                ready = True
                self.readiness.mark_started()
            if records:
                await self.process(records)
            now = time.monotonic()
            if now - last_lag > 1.0:
                last_lag = now
                for topic, lag in self.consumer.lag().items():
                    metrics.CONSUMER_LAG.labels(self.group, topic).set(lag)

    async def process(self, records: Sequence[Record]) -> None:
        if self.rereads.must_split(records):
            await self._split(records)
            return
        try:
            handled = await self._write(records)
            await self.consumer.commit()
        except Exception as exc:  # an output was refused or not made durable: nothing counts
            await self._reread(records, exc)
            return
        self.rereads.committed(records)
        self._count(handled)

    async def _split(self, records: Sequence[Record]) -> None:
        """One record at a time, each committed, so the one whose outputs fail is found."""
        log.warning("%s: %s keeps failing; handling its %d records one at a time",
                    self.service, describe(records), len(records))  # fmt: skip
        for i, rec in enumerate(records):
            try:
                handled = await self._write([rec])
            except Exception as exc:
                try:
                    await self.letters.refer(rec, "unwritable_output", type(exc).__name__)
                    handled = [Handled(rec, dead="unwritable_output")]
                except Exception as away:  # not even a reference: the broker is away
                    await self._reread(records[i:], away, outage=True)
                    return
            try:
                await self.consumer.commit({(rec.topic, rec.partition): rec.offset + 1})
            except Exception as exc:
                await self._reread(records[i:], exc, outage=True)
                return
            self._count(handled)
        self.rereads.committed(records)

    async def _write(self, records: Sequence[Record]) -> list[Handled]:
        """Handle every record and wait until all their outputs are durable."""
        pending: list[asyncio.Future[Any]] = []
        handled: list[Handled] = []
        self._fresh = {}  # a resend may share its original's batch
        try:
            for rec in records:
                one, sent = await self._one(rec)
                handled.append(one)
                pending.extend(sent)
            if pending:
                await asyncio.wait_for(asyncio.gather(*pending), DELIVERY_LIMIT_S)
        except BaseException:
            _abandon(pending)
            raise
        return handled

    async def _one(self, rec: Record) -> tuple[Handled, list[asyncio.Future[Any]]]:
        try:
            message = self.codec.decode(rec.value or b"")
        except CodecError as exc:
            return await self._dead(rec, exc.reason, str(exc))
        handler = self.handlers.get(type(message))
        home = TOPIC_OF.get(type(message))
        if handler is None or (home is not None and home.name != rec.topic):
            return await self._dead(rec, "unexpected_message", type(message).__name__)
        problem = oversized(message)
        if problem is not None:  # never answered: an answer or audit would copy the field
            return await self._dead(rec, "oversized_field", problem)
        key = self.request_id(message)
        outs = (self.dedup.get(key) or self._fresh.get(key)) if key else None
        if outs is not None:  # answered durably before: the answer again, the audit not twice
            one = Handled(rec, message, [o for o in outs if o.repeat], duplicate=True)
        else:
            started = time.perf_counter()
            try:
                outs = await handler(message)
            except DeadLetter as exc:
                return await self._dead(rec, exc.reason, str(exc))
            except Exception as exc:
                log.exception("%s: handler failed on %s", self.service, type(message).__name__)
                return await self._dead(rec, "handler_error", type(exc).__name__)
            one = Handled(rec, message, outs, time.perf_counter() - started, key)
            if key:
                self._fresh[key] = outs
        sent = [
            await self.producer.send(o.topic, self.codec.encode(o.message), key=o.key)
            for o in one.outs
        ]
        return one, sent

    async def _dead(self, rec: Record, reason: str, detail: str) -> tuple[Handled, list[Any]]:
        return Handled(rec, dead=reason), [await self.dead_letter(rec, reason, detail)]

    async def dead_letter(self, rec: Record, reason: str, detail: str) -> asyncio.Future[None]:
        """Queue the record's dead letter; resolves once its copy (or a reference) is durable."""
        return await self.letters.queue(rec, reason, detail)

    async def _reread(self, records: Sequence[Record], exc: BaseException, outage: bool = False
                      ) -> None:  # fmt: skip
        metrics.BATCH_RETRIES.labels(self.service).inc()
        await self.rereads.again(self.consumer, records, self.service, type(exc).__name__,
                                 self._stop, outage)  # fmt: skip

    def _count(self, handled: Sequence[Handled]) -> None:
        """After the commit: dead letters, duplicates and each fresh record's tally, once."""
        for one in handled:
            rec = one.rec
            if one.dead:
                metrics.DEAD_LETTERS.labels(self.service, one.dead).inc()
                log.warning("%s: dead-lettered %s[%d]@%d: %s", self.service, rec.topic,
                            rec.partition, rec.offset, one.dead)  # fmt: skip
            elif one.duplicate:
                metrics.DUPLICATE_REQUESTS.labels(self.service).inc()
            else:
                if one.key:
                    self.dedup.put(one.key, one.outs)
                self.tally(one.message, one.outs, one.seconds)
        self.handled += len(handled)
