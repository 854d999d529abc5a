"""The consume -> handle -> publish loop every service runs, with dead letters and clean stops."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.shared import metrics
from services.shared.codec import Codec, CodecError
from services.shared.messages import Message
from services.shared.readiness import Readiness
from services.shared.topics import DLQ, TOPIC_OF
from services.shared.transport import Consumer, Producer, Record

log = logging.getLogger("ndx.runtime")
REWIND_PAUSE_S = 1.0
DELIVERY_LIMIT_S = 60.0  # outputs not durable by then are written again after a rewind


@dataclass(slots=True)
class Outgoing:
    topic: str
    message: Message
    key: bytes | None = None
    repeat: bool = True  # sent again for a redelivered request (an answer); False: once (audit)


Handler = Callable[[Any], Awaitable[list[Outgoing]]]


class DeadLetter(Exception):
    """Raised by a handler for a well-formed record it must refuse; `reason` is a bounded label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class Deduplicator:
    """Remembers recent answers by request id so a redelivered request is answered the same."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, list[Outgoing]] = OrderedDict()

    def get(self, key: str) -> list[Outgoing] | None:
        return self._seen.get(key)

    def put(self, key: str, outs: list[Outgoing]) -> None:
        self._seen[key] = outs
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)


def dlq_headers(rec: Record, reason: str, service: str, detail: str) -> list[tuple[str, bytes]]:
    return [
        ("source_topic", rec.topic.encode()),
        ("source_partition", str(rec.partition).encode()),
        ("source_offset", str(rec.offset).encode()),
        ("reason", reason.encode()),
        ("service", service.encode()),
        ("detail", detail[:500].encode("utf-8", "replace")),
    ]


class ServiceLoop:
    """Reads a batch, handles each record, waits until every output is durable, then commits."""

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
        readiness: Readiness | None = None,
    ) -> None:
        self.service, self.group = service, group
        self.readiness = readiness or Readiness(service)
        self.consumer, self.producer, self.codec = consumer, producer, codec
        self.handlers, self.request_id, self.batch = handlers, request_id, batch
        self.dedup = Deduplicator()
        self._answered: list[tuple[str, list[Outgoing]]] = []
        self.handled = 0

    async def run(self, stop: asyncio.Event) -> None:
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

    async def process(self, records: list[Record]) -> None:
        pending: list[asyncio.Future[Any]] = []
        self._answered = []
        try:
            for rec in records:
                pending.extend(await self._one(rec))
            if pending:
                await asyncio.wait_for(asyncio.gather(*pending), DELIVERY_LIMIT_S)
        except Exception as exc:  # an output was refused or not made durable: nothing is committed
            log.warning("%s: outputs not written (%s); reading the batch again", self.service,
                        type(exc).__name__)  # fmt: skip
            metrics.BATCH_RETRIES.labels(self.service).inc()
            await asyncio.sleep(REWIND_PAUSE_S)
            await self.consumer.rewind()
            return
        await self.consumer.commit()
        for key, outs in self._answered:  # remembered only once they are durable
            self.dedup.put(key, outs)
        self.handled += len(records)

    async def _one(self, rec: Record) -> list[asyncio.Future[Any]]:
        try:
            message = self.codec.decode(rec.value or b"")
        except CodecError as exc:
            return [await self.dead_letter(rec, exc.reason, str(exc))]
        handler = self.handlers.get(type(message))
        home = TOPIC_OF.get(type(message))
        if handler is None or (home is not None and home.name != rec.topic):
            return [await self.dead_letter(rec, "unexpected_message", type(message).__name__)]
        key = self.request_id(message)
        outs = self.dedup.get(key) if key else None
        if outs is not None:  # answered durably before: the answer again, the audit not twice
            metrics.DUPLICATE_REQUESTS.labels(self.service).inc()
            outs = [o for o in outs if o.repeat]
        else:
            try:
                outs = await handler(message)
            except DeadLetter as exc:
                return [await self.dead_letter(rec, exc.reason, str(exc))]
            except Exception as exc:
                log.exception("%s: handler failed on %s", self.service, type(message).__name__)
                return [await self.dead_letter(rec, "handler_error", repr(exc))]
            if key:
                self._answered.append((key, outs))
        return [
            await self.producer.send(o.topic, self.codec.encode(o.message), key=o.key) for o in outs
        ]

    async def dead_letter(self, rec: Record, reason: str, detail: str) -> asyncio.Future[Any]:
        metrics.DEAD_LETTERS.labels(self.service, reason).inc()
        log.warning(
            "%s: dead-lettered %s[%d]@%d: %s",
            self.service,
            rec.topic,
            rec.partition,
            rec.offset,
            reason,
        )
        headers = dlq_headers(rec, reason, self.service, detail)
        return await self.producer.send(DLQ.name, rec.value or b"", key=rec.key, headers=headers)
