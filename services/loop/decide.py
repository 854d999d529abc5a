"""What one record leads to: outputs from its handler, a repeat of earlier ones, or a dead
letter (undecodable, unexpected, refused, oversized, or refused by its handler)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.kafka import Record
from services.loop.handled import Deduplicator, Handled, Outgoing
from services.wire import TOPIC_OF, Codec, CodecError, Message, oversized

__all__ = ["Admit", "DeadLetter", "Decider", "Handler", "Refusal", "Tally", "admit_all", "no_tally"]

log = logging.getLogger("ndx.runtime")

# A handler takes the one message type it is routed (the routing table keys it by type), so
# it is typed by what it takes, not by every message the loop could carry.
Handler = Callable[[Any], Awaitable[list[Outgoing]]]
Admit = Callable[[Record, Message], "Refusal | None"]
"""Checks who sent a decoded record before it is handled; a Refusal dead-letters it."""
Tally = Callable[[Message, list[Outgoing], float], None]
"""Counts one freshly handled record (message, its outputs, handler seconds) once committed."""


def no_tally(message: Message, outs: list[Outgoing], seconds: float) -> None:
    return None


class DeadLetter(Exception):
    """Raised by a handler for a well-formed record it must refuse; `reason` is a bounded label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Refusal:
    """A record whose sender may not claim what it claims: a bounded reason, who, and what."""

    reason: str
    agency: str
    action: str


def admit_all(rec: Record, message: Message) -> Refusal | None:
    return None


class Decider:
    """Decodes, admits and handles records, remembering answers so a request read again is
    repeated rather than decided twice."""

    def __init__(
        self,
        service: str,
        codec: Codec,
        handlers: Mapping[type, Handler],
        request_id: Callable[[Message], str | None],
        admit: Admit,
    ) -> None:
        self.service, self.codec, self.handlers = service, codec, handlers
        self.request_id, self.admit = request_id, admit
        self.dedup = Deduplicator()
        self.fresh: dict[str, asyncio.Future[list[Outgoing] | None]] = {}

    async def decide(self, rec: Record) -> Handled:
        """What one record leads to: outputs, a repeat of earlier ones, or a dead letter."""
        try:
            message = self.codec.decode(rec.value or b"")
        except CodecError as exc:
            return Handled(rec, dead=exc.reason, detail=str(exc))
        handler = self.handlers.get(type(message))
        home = TOPIC_OF.get(type(message))
        if handler is None or (home is not None and home.name != rec.topic):
            return Handled(rec, dead="unexpected_message", detail=type(message).__name__)
        if (refusal := self.admit(rec, message)) is not None:  # before any answer or change
            return Handled(
                rec,
                dead=refusal.reason,
                detail=refusal.action,
                denied=(refusal.agency, refusal.action),
            )
        if (problem := oversized(message)) is not None:  # an answer or audit would copy it
            return Handled(rec, dead="oversized_field", detail=problem)
        key = self.request_id(message)
        if key and (repeat := await self._repeat(rec, message, key)) is not None:
            return repeat
        claim: asyncio.Future[list[Outgoing] | None] | None = None
        if key:
            claim = self.fresh[key] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        outs: list[Outgoing] | None = None
        try:
            outs = await handler(message)
        except DeadLetter as exc:
            return Handled(rec, dead=exc.reason, detail=str(exc))
        except Exception as exc:
            log.exception("%s: handler failed on %s", self.service, type(message).__name__)
            return Handled(rec, dead="handler_error", detail=type(exc).__name__)
        finally:
            if claim is not None:
                claim.set_result(outs)
                if outs is None:
                    self.fresh.pop(key or "", None)
        return Handled(rec, message, outs, time.perf_counter() - started, key)

    async def _repeat(self, rec: Record, message: Message, key: str) -> Handled | None:
        """A request answered before (durably, or earlier in the batches in hand)."""
        seen = self.dedup.get(key)
        outs = seen.outs if seen is not None else None
        if outs is None and (claim := self.fresh.get(key)) is not None:
            outs = await claim
        if outs is None:
            return None
        again = [o for o in outs if o.repeat]  # the answer again, the audit not twice
        return Handled(rec, message, outs, key=key, duplicate=True, sends=again)
