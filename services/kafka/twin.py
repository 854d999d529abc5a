"""In-memory twin of the Kafka transport so unit tests and scenarios run with no broker."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.kafka.transport import Headers, Record, RecordTooLarge
from services.wire import TopicSpec

__all__ = ["Group", "MemConsumer", "MemProducer", "MemRecord", "MemoryBus"]

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

    async def send_and_wait(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> None:
        await (await self.send(topic, value, key, headers))

    async def flush(self) -> None:
        return None


@dataclass
class Group:
    """A consumer group on the bus: its members and its committed offsets."""

    members: list[MemConsumer] = field(default_factory=list)
    committed: dict[tuple[str, int], int] = field(default_factory=dict)


class MemConsumer:
    """Positions, group membership and commits on the bus, as a Kafka consumer keeps them."""

    def __init__(
        self, bus: MemoryBus, topics: list[str], group_id: str | None, from_beginning: bool
    ) -> None:
        self.bus, self.topics, self.group_id = bus, topics, group_id
        self.from_beginning = from_beginning
        self.positions: dict[tuple[str, int], int] = {}
        self.paused = False

    async def start(self) -> None:
        if self.group_id is None:
            for t in self.topics:
                for p, records in enumerate(self.bus.topics[t]):
                    self.positions[(t, p)] = 0 if self.from_beginning else len(records)
            return
        group = self.bus.groups.setdefault(self.group_id, Group())
        group.members.append(self)
        self.bus.rebalance(self.group_id)

    async def stop(self) -> None:
        if self.group_id is not None and self in self.bus.groups[self.group_id].members:
            self.bus.groups[self.group_id].members.remove(self)
            self.bus.rebalance(self.group_id)

    def _ready(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        for (t, p), pos in self.positions.items():
            records = self.bus.topics[t][p]
            take = records[pos : pos + max_records - len(out)]
            out.extend(take)
            self.positions[(t, p)] = pos + len(take)
            if len(out) >= max_records:
                break
        return out

    async def getmany(self, timeout_ms: int, max_records: int) -> list[Record]:
        if not self.paused:
            ready = self._ready(max_records)
            if ready:
                return ready
        self.bus.changed.clear()
        try:
            await asyncio.wait_for(self.bus.changed.wait(), timeout_ms / 1000)
        except TimeoutError:
            return []
        return [] if self.paused else self._ready(max_records)

    async def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> bool:
        if self.group_id is not None:
            self.bus.groups[self.group_id].committed.update(offsets or self.positions)
        return True

    def before_revoke(self, drain: Callable[[], Awaitable[None]]) -> None:
        return None  # the twin rebalances at once, between calls

    def lag(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (t, p), pos in self.positions.items():
            out[t] = out.get(t, 0) + len(self.bus.topics[t][p]) - pos
        return out

    async def rewind(self) -> None:
        if self.group_id is not None:
            committed = self.bus.groups[self.group_id].committed
            for tp in self.positions:
                self.positions[tp] = committed.get(tp, 0)

    async def at_end(self) -> bool:
        return all(pos >= len(self.bus.topics[t][p]) for (t, p), pos in self.positions.items())

    def assigned(self) -> bool:
        return bool(self.positions)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
