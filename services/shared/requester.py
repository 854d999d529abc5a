"""One requesting agency on the platform: its own clients, reply topic and pending-request table."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from services.shared import metrics
from services.shared.codec import Codec, CodecError
from services.shared.messages import Answer, Request
from services.shared.topics import FLOW_OF, REQUEST_TOPIC, reply_topic
from services.shared.transport import Consumer, Producer, Transport

log = logging.getLogger("ndx.requester")
PROVIDER = "registry"


@dataclass(slots=True)
class Result:
    outcome: str  # the answer's outcome, or TIMEOUT
    answer: Answer | None
    latency_s: float  # from the intended send time (coordinated omission corrected)


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Answer | None]
    deadline: float


class AgencyClient:
    """Sends requests for one agency and matches answers by request id; late answers are counted."""

    def __init__(self, agency: str, transport: Transport, codec: Codec, timeout_s: float) -> None:
        self.agency, self.codec, self.timeout_s = agency, codec, timeout_s
        self.producer: Producer = transport.producer(agency)
        self.replies: Consumer = transport.consumer([reply_topic(agency)], client_id=agency)
        self.pending: dict[str, _Pending] = {}
        self.late_answers = 0
        self.undecodable_replies = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight = metrics.IN_FLIGHT.labels(agency)

    async def start(self) -> None:
        await self.producer.start()
        try:
            await self.replies.start()
        except BaseException:
            await self.producer.stop()
            raise
        self._tasks = [
            asyncio.create_task(self._read_replies(), name=f"{self.agency}-replies"),
            asyncio.create_task(self._expire(), name=f"{self.agency}-deadlines"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.producer.stop()
        await self.replies.stop()

    async def request(self, message: Request, intended: float | None = None) -> Result:
        """Send and await the answer; latency counts from `intended` (loop time) when given."""
        loop = asyncio.get_running_loop()
        start = loop.time() if intended is None else intended
        flow = FLOW_OF[type(message)]
        future: asyncio.Future[Answer | None] = loop.create_future()
        self.pending[message.request_id] = _Pending(future, loop.time() + self.timeout_s)
        self._in_flight.inc()
        try:
            data = self.codec.encode(message)
            try:
                await self.producer.send(
                    REQUEST_TOPIC[type(message)].name, data, key=message.citizen_id.encode()
                )
            except Exception as exc:  # the transport refused it: it ends as a timeout, not lost
                log.warning("%s: send failed: %s", self.agency, exc)
                if not future.done():
                    future.set_result(None)
            answer = await future
        finally:
            self.pending.pop(message.request_id, None)
            self._in_flight.dec()
        latency = loop.time() - start
        outcome = "TIMEOUT" if answer is None else answer.outcome
        metrics.TRANSACTIONS.labels(self.agency, PROVIDER, flow, outcome, "requester").inc()
        metrics.REQUEST_DURATION.labels(self.agency, flow).observe(latency)
        if answer is None:
            metrics.TIMEOUTS.labels(self.agency, flow).inc()
        return Result(outcome, answer, latency)

    async def _read_replies(self) -> None:
        while True:
            for rec in await self.replies.getmany(timeout_ms=200, max_records=1000):
                try:
                    answer: Any = self.codec.decode(rec.value or b"")
                except CodecError as exc:
                    self.undecodable_replies += 1
                    log.warning("%s: unreadable reply: %s", self.agency, exc.reason)
                    continue
                waiting = self.pending.pop(getattr(answer, "request_id", ""), None)
                if waiting is None or waiting.future.done():
                    self.late_answers += 1
                    metrics.LATE_ANSWERS.labels(self.agency).inc()
                    continue
                waiting.future.set_result(answer)

    async def _expire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.05)
            now = loop.time()
            expired = []
            for request_id, waiting in self.pending.items():
                if waiting.deadline > now:
                    break  # deadlines grow with insertion order: the rest are younger
                expired.append(request_id)
            for request_id in expired:
                waiting = self.pending.pop(request_id)
                if not waiting.future.done():
                    waiting.future.set_result(None)


def new_request_id(agency: str, counter: int) -> str:
    return f"{agency}:{time.time_ns():x}:{counter:x}"
