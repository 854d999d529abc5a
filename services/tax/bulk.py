"""One requester of bulk verifications: chunks sent at a pace and in-flight limit of its own,
answers matched by request id, a chunk unanswered sent again, items left out asked again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from services.config import Bulk
from services.kafka import Consumer, Producer, Transport
from services.process import EVENT_LOOP, Clock, cancel, metrics
from services.wire import (
    LANE_TOPIC,
    BulkItem,
    BulkItemAnswer,
    BulkVerificationAnswered,
    BulkVerificationRequested,
    Codec,
    CodecError,
    bulk_reply_topic,
)

__all__ = ["BulkClient", "ChunkResult", "UnansweredChunk"]

log = logging.getLogger("ndx.tax")
ATTEMPTS = 5  # sends of one chunk (its first included) before its items are given up
REMEMBERED = 100_000  # answered request ids kept to tell a duplicate answer from a stray one


class UnansweredChunk(Exception):
    """A chunk still had unanswered items after every attempt."""


@dataclass(slots=True)
class ChunkResult:
    """What one chunk came back with, and what it took."""

    answers: dict[str, BulkItemAnswer]
    attempts: int = 1
    half_answered: int = 0  # answers that left items out (those were asked again)
    seconds: float = 0.0
    responders: set[str] = field(default_factory=set)
    sent_us: int = 0  # wall clock of the first send
    got_us: int = 0  # wall clock when the last answer came
    registry_received_us: int = 0  # the last answer's registry stamps
    registry_answered_us: int = 0


class _Pace:
    """Items per second at most, with one chunk's worth of burst."""

    def __init__(self, rate_per_s: float | None, clock: Clock) -> None:
        self.rate, self.clock, self.next = rate_per_s, clock, 0.0

    async def take(self, items: int) -> None:
        if self.rate is None:
            return
        now = self.clock.now()
        start = max(now, self.next)
        self.next = start + items / self.rate
        if start > now:
            await self.clock.sleep(start - now)


class BulkClient:
    """Sends bulk verification requests for one agency on its design's lane; its answers come
    back on the agency's own bulk reply topic."""

    def __init__(
        self,
        agency: str,
        transport: Transport,
        producer: Producer,
        codec: Codec,
        design: Bulk,
        clock: Clock = EVENT_LOOP,
    ) -> None:
        self.agency, self.codec, self.design, self.clock = agency, codec, design, clock
        self.lane = design.lane
        self.topic = LANE_TOPIC[design.lane].name
        self.producer = producer
        self.replies: Consumer = transport.consumer(
            [bulk_reply_topic(agency)], client_id=f"{agency}.bulk"
        )
        self.slots = asyncio.Semaphore(design.in_flight)
        self.pace = _Pace(design.rate_per_s, clock)
        self.waiting: dict[str, asyncio.Future[BulkVerificationAnswered]] = {}
        self.answered: OrderedDict[str, None] = OrderedDict()
        self.duplicates = self.strays = 0
        self.duplicates_of: OrderedDict[str, int] = OrderedDict()  # request id -> answers again
        self._pending = metrics.BULK_PENDING.labels(self.lane)
        # every series from the start, at 0, so a first chunk is a rate and not a first sample
        metrics.BULK_CHUNK_DURATION.labels(self.lane)
        for result in ("answered", "resent", "half_answered", "duplicate"):
            metrics.BULK_CHUNKS.labels(self.lane, result)
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.replies.start()
        self._reader = asyncio.create_task(self._read(), name=f"{self.agency}-bulk-replies")

    async def stop(self) -> None:
        await cancel([self._reader])
        await self.replies.stop()

    async def verify(self, request_id: str, purpose: str, items: list[BulkItem]) -> ChunkResult:
        """Every item's answer: the chunk sent (paced, within the in-flight limit), sent again
        under the same id when unanswered in time, its missing items asked again."""
        remaining = {item.item_id: item for item in items}
        result = ChunkResult({})
        self._pending.inc(len(items))
        try:
            async with self.slots:
                began = self.clock.now()
                part = 0
                while remaining:
                    rid = request_id if part == 0 else f"{request_id}+{part}"
                    answer = await self._ask(rid, purpose, list(remaining.values()), result)
                    result.got_us = _now_us()
                    result.registry_received_us = answer.received_at_us
                    result.registry_answered_us = answer.answered_at_us
                    got = [a for a in answer.items if a.item_id in remaining]
                    for a in got:
                        result.answers[a.item_id] = a
                        del remaining[a.item_id]
                    self._pending.dec(len(got))
                    result.responders.add(answer.responder)
                    if remaining:
                        result.half_answered += 1
                        metrics.BULK_CHUNKS.labels(self.lane, "half_answered").inc()
                        part += 1
                        if part >= ATTEMPTS:
                            raise UnansweredChunk(f"{request_id}: {len(remaining)} item(s) left")
                result.seconds = self.clock.now() - began
                metrics.BULK_CHUNK_DURATION.labels(self.lane).observe(result.seconds)
                metrics.BULK_CHUNKS.labels(self.lane, "answered").inc()
                return result
        finally:
            self._pending.dec(len(remaining))

    async def _ask(
        self, rid: str, purpose: str, items: list[BulkItem], result: ChunkResult
    ) -> BulkVerificationAnswered:
        await self.pace.take(len(items))
        loop = asyncio.get_running_loop()
        future = self.waiting[rid] = loop.create_future()
        try:
            for attempt in range(1, ATTEMPTS + 1):
                request = BulkVerificationRequested(rid, self.agency, purpose, items, _now_us())
                result.sent_us = result.sent_us or request.requested_at_us
                try:
                    await self.producer.send(
                        self.topic, self.codec.encode(request), key=rid.encode()
                    )
                except Exception as exc:  # the transport refused it: the deadline decides
                    log.warning("%s: bulk send failed: %s", self.agency, exc)
                done, _ = await asyncio.wait((future,), timeout=self.design.timeout_s)
                if done:
                    answered: BulkVerificationAnswered = future.result()
                    return answered
                if attempt < ATTEMPTS:
                    result.attempts += 1
                    metrics.BULK_CHUNKS.labels(self.lane, "resent").inc()
            raise UnansweredChunk(f"{rid}: no answer after {ATTEMPTS} sends")
        finally:
            self.waiting.pop(rid, None)

    async def _read(self) -> None:
        while True:
            for rec in await self.replies.getmany(timeout_ms=500, max_records=500):
                try:
                    answer = self.codec.decode(rec.value or b"")
                except CodecError as exc:
                    self.strays += 1
                    log.warning("%s: unreadable bulk reply: %s", self.agency, exc.reason)
                    continue
                if not isinstance(answer, BulkVerificationAnswered):
                    self.strays += 1
                    continue
                future = self.waiting.get(answer.request_id)
                if future is not None and not future.done():
                    future.set_result(answer)
                    self._remember(answer.request_id)
                elif answer.request_id in self.answered:
                    self.duplicates += 1
                    rid = answer.request_id
                    self.duplicates_of[rid] = self.duplicates_of.get(rid, 0) + 1
                    while len(self.duplicates_of) > REMEMBERED:
                        self.duplicates_of.popitem(last=False)
                    metrics.BULK_CHUNKS.labels(self.lane, "duplicate").inc()
                else:
                    self.strays += 1

    def _remember(self, request_id: str) -> None:
        self.answered[request_id] = None
        while len(self.answered) > REMEMBERED:
            self.answered.popitem(last=False)


def _now_us() -> int:
    return time.time_ns() // 1000
