"""One requesting agency on the platform: its own clients, reply topic and pending-request table."""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from services.kafka import Consumer, Producer, Transport
from services.process import EVENT_LOOP, Clock, cancel, metrics
from services.requester.pending import NO_RETRIES, Pending, Result, RetryPolicy, appended, stamps_of
from services.wire import (
    FLOW_OF,
    REQUEST_TOPIC,
    Codec,
    CodecError,
    LookupAnswered,
    Outcome,
    Request,
    VerificationAnswered,
    reply_topic,
)

log = logging.getLogger("ndx.requester")
PROVIDER = "registry"
TICK_SHARE = 0.02  # deadlines are kept within this share of the timeout...
TICK_S = (0.01, 0.25)  # ...between these bounds: a client of a dozen requests a second need
# not wake twenty times a second to find nothing due (the national topology plays 81 of them)
T = TypeVar("T")


class AgencyClient:
    """Sends requests for one agency and matches answers by request id; late answers are counted."""

    def __init__(
        self,
        agency: str,
        transport: Transport,
        codec: Codec,
        timeout_s: float,
        policy: RetryPolicy = NO_RETRIES,
        clock: Clock = EVENT_LOOP,
    ) -> None:
        self.agency, self.codec, self.timeout_s, self.policy = agency, codec, timeout_s, policy
        self.clock = clock  # deadlines and latencies; callers' `intended` times are on it too
        self.producer: Producer = transport.producer(agency)
        self.replies: Consumer = transport.consumer([reply_topic(agency)], client_id=agency)
        self.pending: dict[str, Pending] = {}
        self._deadlines: list[tuple[float, str, int]] = []
        self.sent = self.retries = self.late_answers = self.undecodable_replies = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._retrying: set[asyncio.Task[None]] = set()
        self._in_flight = metrics.IN_FLIGHT.labels(agency)
        # Told of each late answer and each resend as it happens (a timeline counts them).
        self.on_late_answer: Callable[[], None] | None = None
        self.on_retry: Callable[[], None] | None = None

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
        await cancel([*self._tasks, *self._retrying])
        await self.producer.stop()
        await self.replies.stop()

    async def request(self, message: Request, intended: float | None = None) -> Result:
        """Send and await the answer; latency counts from `intended` (clock time) when given."""
        loop = asyncio.get_running_loop()
        start = self.clock.now() if intended is None else intended
        flow = FLOW_OF[type(message)]
        waiting = Pending(loop.create_future(), message, self.codec.encode(message))
        self.pending[message.request_id] = waiting
        self._in_flight.inc()
        self.sent += 1
        try:
            await self._send(waiting)
            answer = await waiting.future
        finally:
            self.pending.pop(message.request_id, None)
            self._in_flight.dec()
        now = self.clock.now()
        latency = now - start
        outcome = Outcome.TIMEOUT if answer is None else Outcome(answer.outcome)
        metrics.transactions(self.agency, PROVIDER, flow, outcome, "requester").inc()
        metrics.request_duration(self.agency, flow).observe(latency)
        if answer is None:
            metrics.TIMEOUTS.labels(self.agency, flow).inc()
        wall = time.time() - now
        stamps = None if answer is None else stamps_of(waiting, answer, start, now, wall)
        if stamps is not None:
            metrics.observe_hops(flow, stamps)
        return Result(outcome, answer, latency, waiting.attempt, stamps)

    async def publish(self, topic: str, data: bytes, key: bytes) -> None:
        """A record nobody answers (a dossier); a refusal is logged, what needs it times out."""
        try:
            await self.producer.send(topic, data, key=key)
        except Exception as exc:
            log.warning("%s: send to %s failed: %s", self.agency, topic, exc)

    async def confirm(
        self, topic: str, data: bytes, key: bytes, seen: asyncio.Future[T], flow: str
    ) -> tuple[T | None, int]:
        """Fire a record whose answer is its effect seen elsewhere (a civil event's change on the
        feed): resent as is on this client's retry policy (the receiver dedups); returns the
        effect, or None when every attempt timed out, and the attempts made."""
        self.sent += 1
        attempt = 1
        while True:
            await self.publish(topic, data, key)
            limit = self.timeout_s * self.policy.backoff ** (attempt - 1)
            timer = asyncio.ensure_future(self.clock.sleep(limit))
            try:
                await asyncio.wait((seen, timer), return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
            if seen.done():
                return seen.result(), attempt
            if not self._may_retry_attempt(attempt):
                return None, attempt
            attempt += 1
            self._retried(flow)

    async def _send(self, waiting: Pending) -> None:
        message = waiting.message
        limit = self.timeout_s * self.policy.backoff ** (waiting.attempt - 1)
        deadline = self.clock.now() + limit
        heapq.heappush(self._deadlines, (deadline, message.request_id, waiting.attempt))
        first = not waiting.sent
        if first:
            waiting.sent = self.clock.now()
        try:
            delivery = await self.producer.send(
                REQUEST_TOPIC[type(message)].name, waiting.data, key=message.citizen_id.encode()
            )
            if first:
                delivery.add_done_callback(lambda d: appended(waiting, d))
        except Exception as exc:  # the transport refused it: the deadline decides what follows
            log.warning("%s: send failed: %s", self.agency, exc)

    def _retried(self, flow: str) -> None:
        self.retries += 1
        metrics.RETRIES.labels(self.agency, flow).inc()
        if self.on_retry is not None:
            self.on_retry()

    def _resend(self, waiting: Pending) -> None:
        """A retry never holds up the deadline loop: a send may wait on a broker that is away."""
        task = asyncio.create_task(self._send(waiting), name=f"{self.agency}-retry")
        self._retrying.add(task)
        task.add_done_callback(self._retrying.discard)

    def _may_retry(self, waiting: Pending) -> bool:
        return self._may_retry_attempt(waiting.attempt)

    def _may_retry_attempt(self, attempt: int) -> bool:
        p = self.policy
        budget = p.budget_floor + p.budget_share * self.sent
        return attempt <= p.retries and self.retries < budget

    async def _read_replies(self) -> None:
        while True:
            for rec in await self.replies.getmany(timeout_ms=200, max_records=1000):
                try:
                    answer = self.codec.decode(rec.value or b"")
                except CodecError as exc:
                    self.undecodable_replies += 1
                    log.warning("%s: unreadable reply: %s", self.agency, exc.reason)
                    continue
                if isinstance(answer, VerificationAnswered | LookupAnswered):
                    waiting = self.pending.pop(answer.request_id, None)
                    if waiting is not None and not waiting.future.done():
                        waiting.reply_append_ms = rec.timestamp
                        waiting.future.set_result(answer)
                        continue
                self.late_answers += 1  # late, repeated, or not an answer at all
                metrics.LATE_ANSWERS.labels(self.agency).inc()
                if self.on_late_answer is not None:
                    self.on_late_answer()

    async def _expire(self) -> None:
        tick = min(max(self.timeout_s * TICK_SHARE, TICK_S[0]), TICK_S[1])
        while True:
            await self.clock.sleep(tick)
            now = self.clock.now()
            while self._deadlines and self._deadlines[0][0] <= now:
                _, request_id, attempt = heapq.heappop(self._deadlines)
                waiting = self.pending.get(request_id)
                if waiting is None or waiting.attempt != attempt or waiting.future.done():
                    continue  # answered, or a later attempt owns the deadline now
                if self._may_retry(waiting):
                    waiting.attempt += 1
                    self._retried(FLOW_OF[type(waiting.message)])
                    self._resend(waiting)
                else:
                    self.pending.pop(request_id, None)
                    waiting.future.set_result(None)


def new_request_id(agency: str, counter: int) -> str:
    return f"{agency}:{time.time_ns():x}:{counter:x}"
