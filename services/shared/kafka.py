"""The Kafka transport: aiokafka clients configured for durable, at-least-once sharing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError

from services.shared.topics import TopicSpec
from services.shared.transport import BrokerUnreachable, Headers, Record

TOPIC_ALREADY_EXISTS = 36


async def _connect(start: Any, bootstrap: str, limit_s: float) -> None:
    try:
        await asyncio.wait_for(start(), limit_s)
    except (KafkaConnectionError, TimeoutError, OSError) as exc:
        raise BrokerUnreachable(
            f"no Kafka broker answers at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS): "
            f"{exc or 'timed out'}"
        ) from None


class KafkaProducer:
    def __init__(self, bootstrap: str, client_id: str, connect_timeout: float) -> None:
        self.bootstrap, self.connect_timeout = bootstrap, connect_timeout
        self._p = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            max_batch_size=256 * 1024,
            request_timeout_ms=int(connect_timeout * 1000),
        )

    async def start(self) -> None:
        await _connect(self._p.start, self.bootstrap, self.connect_timeout)

    async def stop(self) -> None:
        await self._p.stop()

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        delivery: asyncio.Future[Any] = await self._p.send(
            topic, value, key=key, headers=list(headers) or None
        )
        return delivery

    async def flush(self) -> None:
        await self._p.flush()


class KafkaConsumer:
    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None,
        from_beginning: bool,
        connect_timeout: float,
    ) -> None:
        self.bootstrap, self.topics, self.group_id = bootstrap, list(topics), group_id
        self.from_beginning, self.connect_timeout = from_beginning, connect_timeout
        self._c = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning or group_id else "latest",
            fetch_max_wait_ms=50,
            max_partition_fetch_bytes=1024 * 1024,
            request_timeout_ms=max(40000, int(connect_timeout * 1000)),
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
        )
        self._next: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        await _connect(self._c.start, self.bootstrap, self.connect_timeout)
        if self.group_id is not None:
            self._c.subscribe(self.topics)
            return
        parts = [
            TopicPartition(t, p) for t in self.topics for p in self._c.partitions_for_topic(t) or ()
        ]
        if not parts:
            await self._c.stop()
            raise KafkaError(f"topics {self.topics} do not exist on {self.bootstrap}")
        self._c.assign(parts)
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

    async def commit(self) -> None:
        await self._c.commit()

    def lag(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for tp in self._c.assignment():
            high = self._c.highwater(tp)
            pos = self._next.get(tp)
            if high is None or pos is None:
                continue
            out[tp.topic] = out.get(tp.topic, 0) + max(0, high - pos)
        return out

    def assigned(self) -> bool:
        return bool(self._c.assignment())

    def pause(self) -> None:
        self._c.pause(*self._c.assignment())

    def resume(self) -> None:
        self._c.resume(*self._c.assignment())


class KafkaTransport:
    """Builds clients for one cluster; connect_timeout bounds every first contact."""

    def __init__(self, bootstrap: str, replication: int = 1, connect_timeout: float = 8.0) -> None:
        self.bootstrap, self.replication, self.connect_timeout = (
            bootstrap,
            replication,
            connect_timeout,
        )

    def producer(self, client_id: str) -> KafkaProducer:
        return KafkaProducer(self.bootstrap, client_id, self.connect_timeout)

    def consumer(
        self,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None = None,
        from_beginning: bool = False,
    ) -> KafkaConsumer:
        return KafkaConsumer(
            self.bootstrap, topics, client_id, group_id, from_beginning, self.connect_timeout
        )

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap, request_timeout_ms=int(self.connect_timeout * 1000)
        )
        await _connect(admin.start, self.bootstrap, self.connect_timeout)
        try:
            existing = set(await admin.list_topics())
            new = [
                NewTopic(s.name, s.partitions, self.replication, topic_configs=dict(s.config))
                for s in specs
                if s.name not in existing
            ]
            if new:
                response = await admin.create_topics(new)
                for name, code, *_ in getattr(response, "topic_errors", ()):
                    if code not in (0, TOPIC_ALREADY_EXISTS):
                        raise KafkaError(f"cannot create topic {name}: error code {code}")
        finally:
            await admin.close()

    async def close(self) -> None:
        return None
