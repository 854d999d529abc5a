"""In-memory twin of the Kafka transport so unit tests and scenarios run with no broker."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.kafka.transport import Headers, RecordTooLarge
from services.kafka.twinconsumer import Group, MemConsumer
from services.wire.topics import TopicSpec

RECORD_OVERHEAD = 70  # a one-record batch's framing, as a broker counts it


@dataclass(slots=True)
class MemRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()
    timestamp: int = 0  # the bus appends like a LogAppendTime topic: its clock, in ms


class MemoryBus:
    """Topics as lists of partitions; groups share partitions between their members.

    `max_record_bytes` refuses larger records the way a broker's max.message.bytes does.
    """

    def __init__(self, max_record_bytes: int | None = None) -> None:
        self.max_record_bytes = max_record_bytes
        self.topics: dict[str, list[list[MemRecord]]] = {}
        self.groups: dict[str, Group] = {}
        self.changed = asyncio.Event()
        self._rr = 0

    def producer(self, client_id: str) -> MemProducer:
        return MemProducer(self)

    def consumer(
        self,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None = None,
        from_beginning: bool = False,
    ) -> MemConsumer:
        return MemConsumer(self, list(topics), group_id, from_beginning)

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        for spec in specs:
            self.topics.setdefault(spec.name, [[] for _ in range(spec.partitions)])

    async def close(self) -> None:
        return None

    def append(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Headers
    ) -> MemRecord:
        parts = self.topics.get(topic)
        if parts is None:
            raise KeyError(f"unknown topic {topic}")
        size = record_size(value, key, headers)
        if self.max_record_bytes is not None and size > self.max_record_bytes:
            raise RecordTooLarge(f"{topic}: a record of {size} bytes > {self.max_record_bytes}")
        if key is None:
            self._rr += 1
            index = self._rr % len(parts)
        else:
            index = zlib.crc32(key) % len(parts)
        rec = MemRecord(
            topic, index, len(parts[index]), key, value, tuple(headers), time.time_ns() // 1_000_000
        )
        parts[index].append(rec)
        self.changed.set()
        return rec

    def rebalance(self, group_id: str) -> None:
        group = self.groups[group_id]
        for member in group.members:
            member.positions.clear()
        owned = (
            [(t, p) for t in group.members[0].topics for p in range(len(self.topics[t]))]
            if group.members
            else []
        )
        for i, tp in enumerate(owned):
            member = group.members[i % len(group.members)]
            member.positions[tp] = group.committed.get(tp, 0)


def record_size(value: bytes | None, key: bytes | None, headers: Headers) -> int:
    framing = sum(len(k.encode()) + len(v) for k, v in headers)
    return RECORD_OVERHEAD + len(value or b"") + len(key or b"") + framing


class MemProducer:
    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        """Like a broker, a refused record fails its delivery, not the send."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            done.set_result(self.bus.append(topic, value, key, headers))
        except RecordTooLarge as exc:
            done.set_exception(exc)
        return done

    async def flush(self) -> None:
        return None
