"""A request's retry policy, in-flight record and result: plain data an AgencyClient keeps apart
from its I/O, so loadtests and reports can use them without the client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from services.config import Requesters
from services.wire import Answer, Outcome, Request, Stamps

__all__ = ["NO_RETRIES", "Pending", "Result", "RetryPolicy", "appended", "stamps_of"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Resend on timeout with a growing deadline, within a budget so retries cannot storm."""

    retries: int = 0  # resends per request after the first attempt
    backoff: float = 2.0  # each attempt waits this much longer than the one before
    budget_share: float = 0.2  # retries may add at most this share of first sends...
    budget_floor: int = 20  # ...plus this many, so a short burst of losses is covered

    @classmethod
    def of(cls, requesters: Requesters) -> RetryPolicy:
        return cls(requesters.retries, requesters.backoff, requesters.retry_budget)


NO_RETRIES = RetryPolicy()  # the default: each request is sent once


@dataclass(slots=True)
class Result:
    outcome: Outcome  # the answer's outcome, or TIMEOUT
    answer: Answer | None
    latency_s: float  # from the intended send time (coordinated omission corrected)
    attempts: int = 1
    stamps: Stamps | None = None  # when the registry answered: the transaction's timestamps


@dataclass(slots=True)
class Pending:
    future: asyncio.Future[Answer | None]
    message: Request
    data: bytes
    attempt: int = 1
    sent: float = 0.0  # clock time the first attempt was handed to the producer
    request_append_ms: int = 0
    reply_append_ms: int = 0


def appended(waiting: Pending, delivery: asyncio.Future[Any]) -> None:
    """The request record's append time, from the broker's acknowledgement."""
    if not delivery.cancelled() and delivery.exception() is None:
        waiting.request_append_ms = int(getattr(delivery.result(), "timestamp", 0) or 0)


def stamps_of(waiting: Pending, answer: Answer, start: float, now: float, wall: float) -> Stamps:
    """Clock times placed on the wall clock by one offset (`wall`: wall time minus clock time),
    so their differences stay exact."""

    def us(t: float) -> int:
        return round((t + wall) * 1e6)

    intended = us(start)
    return Stamps(
        intended_us=intended,
        sent_us=us(waiting.sent),
        received_us=intended + round((now - start) * 1e6),
        request_append_ms=waiting.request_append_ms,
        registry_received_us=answer.received_at_us,
        registry_answered_us=answer.answered_at_us,
        reply_append_ms=waiting.reply_append_ms,
    )
