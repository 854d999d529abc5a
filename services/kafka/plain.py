"""Plain clients for the load side's control plane and its probes of the ACLs: untuned, unsigned,
addressing partitions themselves. A group member told which partitions it gains and loses, a
writer that puts record i on partition i, and one short read with no group.

Their failures come out as this package's errors (NotAuthorized, BrokerUnreachable,
TransportError); a commit a rebalance took first is a False, as with KafkaConsumer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from services.kafka.client import client_errors, connect_within, log, sasl_options
from services.kafka.transport import Record
from services.security import ClientSecurity

__all__ = ["GroupMember", "Rebalanced", "read_briefly", "write_to_partitions"]

HEARTBEAT_MS = 1000
Rebalanced = Callable[[set[int]], None]  # the partitions (of the member's topic) that moved


class _Told(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hands aiokafka's rebalance callbacks to the member's hooks as partition numbers."""

    def __init__(self, revoked: Rebalanced, assigned: Rebalanced) -> None:
        self.revoked, self.assigned = revoked, assigned

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.revoked({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.assigned({tp.partition for tp in assigned})


def _ignore(_: set[int]) -> None:
    return None


class GroupMember:
    """A member of `group_id` on one topic, reading from the earliest uncommitted record and
    committing only when told; the hooks hear of each rebalance (revoked first, then assigned).
    It leaves the group `session_timeout_s` after it stops heartbeating."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        client_id: str,
        security: ClientSecurity | None,
        connect_timeout: float,
        session_timeout_s: float,
        on_revoked: Rebalanced = _ignore,
        on_assigned: Rebalanced = _ignore,
    ) -> None:
        self.bootstrap, self.topic, self.group_id = bootstrap, topic, group_id
        self.client_id, self.security = client_id, security
        self.connect_timeout, self.session_timeout_s = connect_timeout, session_timeout_s
        self._told = _Told(on_revoked, on_assigned)
        self._c: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Connected and subscribed (the group hands partitions over later), or
        BrokerUnreachable within the connect timeout."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(self.session_timeout_s * 1000),
            heartbeat_interval_ms=HEARTBEAT_MS,
            **sasl_options(self.security),
        )
        try:
            await connect_within(consumer.start, self.bootstrap, self.connect_timeout)
            consumer.subscribe([self.topic], listener=self._told)
        except BaseException:
            await consumer.stop()
            raise
        self._c = consumer

    async def stop(self) -> None:
        if self._c is not None:
            await self._c.stop()

    def _consumer(self) -> AIOKafkaConsumer:
        assert self._c is not None, "start() first"
        return self._c

    def assignment(self) -> set[int]:
        """The partitions the group has handed this member now."""
        return {tp.partition for tp in self._consumer().assignment()}

    async def getmany(self, timeout_ms: int) -> list[Record]:
        """Records of its partitions, waiting up to timeout_ms for some (a rebalance in
        progress holds them back until it is over)."""
        with client_errors(f"{self.client_id}: reading {self.topic}"):
            batches = await self._consumer().getmany(timeout_ms=timeout_ms)
        return [cast(Record, r) for records in batches.values() for r in records]

    async def commit(self, offsets: Mapping[int, int]) -> bool:
        """Commit the next offset of each given partition; False when the cluster did not
        take it (a rebalance took the partitions first, or the group's coordinator is away)."""
        given = {TopicPartition(self.topic, p): o for p, o in offsets.items()}
        try:
            await self._consumer().commit(given)
        except KafkaError as exc:
            log.warning("%s: commit not taken (%s)", self.client_id, type(exc).__name__)
            return False
        return True


async def write_to_partitions(
    bootstrap: str,
    security: ClientSecurity | None,
    client_id: str,
    topic: str,
    values: Sequence[bytes],
    key: bytes | None,
    connect_timeout: float,
) -> None:
    """values[i] on partition i of `topic`, all with `key`; returns once the cluster has every
    one of them (acks=all)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id=client_id, acks="all", **sasl_options(security)
    )
    try:
        await connect_within(producer.start, bootstrap, connect_timeout)
    except BaseException:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise
    try:
        with client_errors(f"{client_id}: writing {topic}"):
            sent = [
                await producer.send(topic, value, key=key, partition=i)
                for i, value in enumerate(values)
            ]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def read_briefly(
    bootstrap: str, security: ClientSecurity | None, topic: str, timeout_ms: int
) -> list[Record]:
    """What one fetch of `topic` from its beginning returns within timeout_ms, read with no
    group: NotAuthorized when this principal may not read it."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", **sasl_options(security)
    )
    try:
        with client_errors(f"reading {topic}"):
            await consumer.start()
            batches = await consumer.getmany(timeout_ms=timeout_ms)
    finally:
        await consumer.stop()
    return [cast(Record, r) for records in batches.values() for r in records]
