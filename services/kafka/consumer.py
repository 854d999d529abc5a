"""The consumer every service reads through: batches, commits, rebalances drained first."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import cast

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
)

from services.kafka.client import (
    RETRY_BACKOFF_MS,
    ClientTuning,
    connect_within,
    log,
    sasl_options,
)
from services.kafka.group import BatchFence, Drain
from services.kafka.transport import Record, TransportError
from services.security import ClientSecurity

__all__ = ["KafkaConsumer"]

REVOKE_WAIT_S = 10.0


class KafkaConsumer:
    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None,
        from_beginning: bool,
        tuning: ClientTuning,
        security: ClientSecurity | None = None,
    ) -> None:
        self.bootstrap, self.topics, self.group_id = bootstrap, list(topics), group_id
        self.security, self.tuning = security, tuning
        self.client_id, self.from_beginning = client_id, from_beginning
        self.connect_timeout = tuning.connect_timeout
        self._c: AIOKafkaConsumer
        self._next: dict[TopicPartition, int] = {}
        self._fence = BatchFence(REVOKE_WAIT_S)

    async def start(self) -> None:
        self._c = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if self.from_beginning or self.group_id else "latest",
            **self.tuning.consumer_options(),
            request_timeout_ms=max(40000, int(self.connect_timeout * 1000)),
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
            **sasl_options(self.security),
            retry_backoff_ms=RETRY_BACKOFF_MS,
        )
        try:
            await connect_within(self._c.start, self.bootstrap, self.connect_timeout)
            if self.group_id is None:
                await self._assign_all()
            else:
                self._c.subscribe(self.topics, listener=self._fence)
        except BaseException:
            await self._c.stop()
            raise

    async def _assign_all(self) -> None:
        """Own every partition with no group; positions resolved before start() returns."""
        existing = await self._c.topics()
        missing = [t for t in self.topics if t not in existing]
        if missing:
            raise TransportError(f"topics {missing} do not exist on {self.bootstrap}")
        self._c.subscribe(self.topics)  # with no group, aiokafka assigns every partition
        deadline = asyncio.get_running_loop().time() + self.connect_timeout
        while not self._c.assignment():
            if asyncio.get_running_loop().time() > deadline:
                raise TransportError(f"no partitions of {self.topics} on {self.bootstrap}")
            await asyncio.sleep(0.02)
        parts = list(self._c.assignment())
        if self.from_beginning:
            await self._c.seek_to_beginning(*parts)
        else:
            await self._c.seek_to_end(*parts)
        for tp in parts:  # resolve positions now so nothing sent after start() is skipped
            await self._c.position(tp)

    async def stop(self) -> None:
        await self._c.stop()

    async def getmany(self, timeout_ms: int, max_records: int) -> list[Record]:
        batches = await self._c.getmany(timeout_ms=timeout_ms, max_records=max_records)
        out: list[Record] = []
        for tp, records in batches.items():
            self._next[tp] = records[-1].offset + 1
            out.extend(cast(list[Record], records))
        return out

    async def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> bool:
        """Commit what was read (or the given next offsets); a commit lost to a rebalance is
        logged and returns False."""
        given = None if offsets is None else {TopicPartition(*tp): o for tp, o in offsets.items()}
        try:
            await self._c.commit(given)
        except (CommitFailedError, IllegalStateError) as exc:
            # At-least-once: the partitions' new owner reads these records again.
            log.warning("%s: commit lost to a rebalance (%s)", self.client_id, type(exc).__name__)
            return False
        return True

    def before_revoke(self, drain: Drain) -> None:
        self._fence.drain = drain

    def lag(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for tp in self._c.assignment():
            high = self._c.highwater(tp)
            pos = self._next.get(tp)
            if high is None or pos is None:
                continue
            out[tp.topic] = out.get(tp.topic, 0) + max(0, high - pos)
        return out

    async def rewind(self) -> None:
        for tp in self._c.assignment():
            committed = await self._c.committed(tp)
            if committed is None:
                await self._c.seek_to_beginning(tp)
                self._next.pop(tp, None)
            else:
                self._c.seek(tp, committed)
                self._next[tp] = committed

    async def at_end(self) -> bool:
        parts = list(self._c.assignment())
        ends = await self._c.end_offsets(parts)
        for tp in parts:
            if await self._c.position(tp) < ends[tp]:
                return False
        return True

    def assigned(self) -> bool:
        return bool(self._c.assignment())

    def pause(self) -> None:
        self._c.pause(*self._c.assignment())

    def resume(self) -> None:
        self._c.resume(*self._c.assignment())
