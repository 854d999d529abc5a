"""Dead letters that can always be written: the record's copy when it fits, else a reference."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from services.kafka import Producer, Record
from services.wire import DETAIL_CHARS, DLQ, DLQ_COPY_LIMIT, LABEL_CHARS, clip

log = logging.getLogger("ndx.runtime")
TRUE = b"true"


@dataclass(frozen=True, slots=True)
class Letter:
    """One record for the dead-letter topic."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def headers(rec: Record, reason: str, service: str, detail: str) -> list[tuple[str, bytes]]:
    """Where the record came from and why it is here; sizes fixed whatever the input."""
    out = [
        ("source_topic", rec.topic.encode()),
        ("source_partition", str(rec.partition).encode()),
        ("source_offset", str(rec.offset).encode()),
        ("reason", clip(reason, LABEL_CHARS).encode("utf-8", "replace")),
        ("service", service.encode()),
        ("detail", clip(detail, DETAIL_CHARS).encode("utf-8", "replace")),
    ]
    if rec.value is None:
        out.append(("null_value", TRUE))
    return out


def source_size(rec: Record) -> int:
    return len(rec.key or b"") + len(rec.value or b"")


def position_key(rec: Record) -> bytes:
    """A bounded key naming the source record, for letters that cannot carry the original."""
    return f"{rec.topic}/{rec.partition}/{rec.offset}".encode()


def copy_of(rec: Record, reason: str, service: str, detail: str) -> Letter | None:
    """The original key and value (a null value stays null), or None when too large to copy."""
    if source_size(rec) > DLQ_COPY_LIMIT:
        return None
    key = rec.key if rec.key is not None or rec.value is not None else position_key(rec)
    return Letter(key, rec.value, headers(rec, reason, service, detail))


def reference_to(rec: Record, reason: str, service: str, detail: str) -> Letter:
    """A small record pointing at the original (topic, partition, offset, size) instead of it."""
    extra = [
        ("reference", TRUE),
        ("source_size", str(len(rec.value or b"")).encode()),
        ("source_key_size", str(len(rec.key or b"")).encode()),
    ]
    return Letter(position_key(rec), None, headers(rec, reason, service, detail) + extra)


class DeadLetters:
    """Writes one service's dead letters; a refused copy is replaced by its reference."""

    def __init__(self, producer: Producer, service: str) -> None:
        self.producer, self.service = producer, service

    async def _send(self, letter: Letter) -> asyncio.Future[Any]:
        return await self.producer.send(
            DLQ.name, letter.value, key=letter.key, headers=letter.headers
        )

    async def queue(self, rec: Record, reason: str, detail: str) -> asyncio.Future[None]:
        """Send the copy (or the reference when the copy is too large); resolves once durable."""
        letter = copy_of(rec, reason, self.service, detail)
        sent = None
        if letter is not None:
            try:
                sent = await self._send(letter)
            except Exception as exc:  # refused before it left: the reference goes instead
                self._refused(rec, exc)
        return asyncio.ensure_future(self._settle(sent, rec, reason, detail))

    def _refused(self, rec: Record, exc: Exception) -> None:
        log.warning(
            "%s: dead letter of %s[%d]@%d refused (%s); writing a reference",
            self.service,
            rec.topic,
            rec.partition,
            rec.offset,
            type(exc).__name__,
        )

    async def _settle(
        self, sent: asyncio.Future[Any] | None, rec: Record, reason: str, detail: str
    ) -> None:
        if sent is not None:
            try:
                await sent
                return
            except Exception as exc:
                self._refused(rec, exc)
        await (await self._send(reference_to(rec, reason, self.service, detail)))

    async def refer(self, rec: Record, reason: str, detail: str, limit_s: float = 60.0) -> None:
        """Stand a reference in for a record whose own outputs cannot be written; wait for it."""
        sent = await self._send(reference_to(rec, reason, self.service, detail))
        await asyncio.wait_for(sent, limit_s)
