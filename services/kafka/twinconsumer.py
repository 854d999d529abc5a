"""The in-memory twin's consumer: positions, group membership and commits, apart from the bus."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.kafka.transport import Record

if TYPE_CHECKING:
    from services.kafka.twin import MemoryBus

__all__ = ["Group", "MemConsumer"]


@dataclass
class Group:
    """A consumer group on the bus: its members and its committed offsets."""

    members: list[MemConsumer] = field(default_factory=list)
    committed: dict[tuple[str, int], int] = field(default_factory=dict)


class MemConsumer:
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
