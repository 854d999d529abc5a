"""The Kafka transport: aiokafka clients configured for durable, at-least-once sharing."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    InvalidProducerEpoch,
    KafkaConnectionError,
    KafkaError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
)
from aiokafka.helpers import create_ssl_context

from services.shared.bounds import MAX_REQUEST_BYTES
from services.shared.credentials import ClientSecurity
from services.shared.design import Design
from services.shared.kafkagroup import BatchFence, Drain
from services.shared.signing import signature, unsigned
from services.shared.topics import TopicSpec
from services.shared.transport import BrokerUnreachable, Headers, Record, TransportError

TOPIC_ALREADY_EXISTS = 36
REVOKE_WAIT_S = 10.0
log = logging.getLogger("ndx.kafka")
ABANDON_S = 2.0
STALE_PRODUCER = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch)
# aiokafka retries a failed connection, fetch, heartbeat or produce after this fixed pause (its
# only backoff setting; 100 ms by default): while the broker is away each client tries twice a
# second instead of ten times, and a broker restart still costs well under a second.
RETRY_BACKOFF_MS = 500
OFF_PATH_WAIT_MS = 200  # a tally may lag its records by this much
OFF_PATH_MIN_BYTES = 64 * 1024


async def _connect(start: Any, bootstrap: str, limit_s: float) -> None:
    try:
        await asyncio.wait_for(start(), limit_s)
    except (KafkaConnectionError, TimeoutError, OSError) as exc:
        raise BrokerUnreachable(
            f"no Kafka broker answers at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS): "
            f"{exc or 'timed out'}"
        ) from None


@dataclass(frozen=True, slots=True)
class ClientTuning:
    """How every client of a run talks to the cluster: the design's producer, consumer and
    topic-durability knobs (defaults: the baseline design)."""

    acks: Literal["all", 1, 0] = "all"
    linger_ms: int = 0
    batch_size: int = 256 * 1024
    compression: str = "none"
    fetch_max_wait_ms: int = 500  # a fetch returns as soon as a record arrives; idle polls less
    fetch_min_bytes: int = 1
    max_partition_fetch_bytes: int = 1024 * 1024
    replication: int = 1
    min_insync_replicas: int = 1
    connect_timeout: float = 8.0

    @classmethod
    def of(cls, design: Design, connect_timeout: float = 8.0) -> ClientTuning:
        p, c, k = design.producers, design.consumers, design.cluster
        return cls(p.acks, p.linger_ms, p.batch_size, p.compression, c.fetch_max_wait_ms,
                   c.fetch_min_bytes, c.max_partition_fetch_bytes, k.replication_factor,
                   k.min_insync_replicas, connect_timeout)  # fmt: skip

    def off_path(self) -> ClientTuning:
        """For readers off every transaction's path (tallies): fewer, fuller fetches."""
        return dataclasses.replace(self, fetch_max_wait_ms=OFF_PATH_WAIT_MS,
                                   fetch_min_bytes=OFF_PATH_MIN_BYTES)  # fmt: skip

    def producer_options(self) -> dict[str, Any]:
        """Idempotence (no duplicates after a retry) needs acks=all; other acks give it up."""
        return {
            "acks": self.acks,
            "enable_idempotence": self.acks == "all",
            "linger_ms": self.linger_ms,
            "max_batch_size": self.batch_size,
            "compression_type": None if self.compression == "none" else self.compression,
        }

    def consumer_options(self) -> dict[str, Any]:
        return {
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "fetch_min_bytes": self.fetch_min_bytes,
            "max_partition_fetch_bytes": self.max_partition_fetch_bytes,
        }


def sasl_options(security: ClientSecurity | None) -> dict[str, Any]:
    """aiokafka's keyword arguments to authenticate as one principal; none when plaintext."""
    if security is None:
        return {}
    options: dict[str, Any] = {
        "security_protocol": security.protocol,
        "sasl_mechanism": security.mechanism,
        "sasl_plain_username": security.principal,
        "sasl_plain_password": security.password.get_secret_value(),
    }
    if security.protocol == "SASL_SSL":
        options["ssl_context"] = create_ssl_context(
            cafile=str(security.ca_file) if security.ca_file else None
        )
    return options


class KafkaProducer:
    def __init__(
        self,
        bootstrap: str,
        client_id: str,
        tuning: ClientTuning,
        security: ClientSecurity | None = None,
    ) -> None:
        self.bootstrap, self.client_id, self.tuning = bootstrap, client_id, tuning
        self.connect_timeout = tuning.connect_timeout
        self.security = security
        self._p: AIOKafkaProducer
        self._stale = True  # until connected: a failed renewal is tried again at the next send
        self._renewing = asyncio.Lock()
        self._abandoned: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        # Built here, not in __init__, so a client that never starts leaves nothing to close.
        self._stale = True
        self._p = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            **self.tuning.producer_options(),
            max_request_size=MAX_REQUEST_BYTES,  # dead-letter copies are sized from it
            request_timeout_ms=int(self.connect_timeout * 1000),
            **sasl_options(self.security),
            retry_backoff_ms=RETRY_BACKOFF_MS,
        )
        try:
            await _connect(self._p.start, self.bootstrap, self.connect_timeout)
        except BaseException:
            self._abandon(self._p)
            raise
        self._stale = False

    async def stop(self) -> None:
        await self._p.stop()
        if self._abandoned:
            await asyncio.wait(self._abandoned, timeout=ABANDON_S)

    def _abandon(self, producer: AIOKafkaProducer) -> None:
        """Close a producer in the background: its queued batches may never leave, and nobody
        should wait for them."""
        task = asyncio.create_task(_close_within(producer, ABANDON_S), name="abandon-producer")
        self._abandoned.add(task)
        task.add_done_callback(self._abandoned.discard)

    def _watch(self, delivery: asyncio.Future[Any]) -> None:
        """A delivery that fails for a reason other than Kafka's own errors means the sender
        ended (aiokafka fails every pending record then); after a broker restart an idempotent
        producer can also lose its sequence for good. Either way a new producer takes over."""
        if delivery.cancelled():
            return
        exc = delivery.exception()
        if isinstance(exc, STALE_PRODUCER) or (exc is not None and not isinstance(exc, KafkaError)):
            self._stale = True

    async def _renew(self) -> None:
        async with self._renewing:  # concurrent senders share one renewal
            if not self._stale:
                return
            log.warning("%s: producer unusable; starting a new one", self.client_id)
            self._abandon(self._p)
            await self.start()

    async def send(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        if self._stale:
            await self._renew()
        if self.security is not None and self.security.signing_key is not None:
            key_hex = self.security.signing_key.get_secret_value()
            sig = signature(self.security.principal, key_hex, topic, key, value)
            headers = [*unsigned(headers), *sig]
        delivery: asyncio.Future[Any] = await self._p.send(
            topic, value, key=key, headers=list(headers) or None
        )
        delivery.add_done_callback(self._watch)
        return delivery

    async def flush(self) -> None:
        await self._p.flush()


async def _close_within(producer: AIOKafkaProducer, limit_s: float) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), limit_s)


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
            await _connect(self._c.start, self.bootstrap, self.connect_timeout)
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


class KafkaTransport:
    """Builds clients for one cluster, all tuned alike; `tuning.connect_timeout` bounds every
    first contact, and topics it creates get the tuning's replication and min in-sync replicas.

    With `security`, every client it builds authenticates as that one principal (a process
    hosting several agencies builds one transport per agency).
    """

    def __init__(
        self,
        bootstrap: str,
        tuning: ClientTuning | None = None,
        security: ClientSecurity | None = None,
    ) -> None:
        tuning = tuning or ClientTuning()
        if not 1 <= tuning.min_insync_replicas <= tuning.replication:
            raise ValueError(
                f"min_insync_replicas={tuning.min_insync_replicas} must be "
                f"1..replication={tuning.replication}"
            )
        self.bootstrap, self.tuning, self.security = bootstrap, tuning, security
        self.connect_timeout = tuning.connect_timeout

    def as_principal(self, security: ClientSecurity | None) -> KafkaTransport:
        """The same cluster and tuning, authenticating as another principal."""
        return KafkaTransport(self.bootstrap, self.tuning, security)

    def off_path(self) -> KafkaTransport:
        """The same principal, its consumers tuned for tallies rather than latency."""
        return KafkaTransport(self.bootstrap, self.tuning.off_path(), self.security)

    def producer(self, client_id: str) -> KafkaProducer:
        return KafkaProducer(self.bootstrap, client_id, self.tuning, self.security)

    def consumer(
        self,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None = None,
        from_beginning: bool = False,
    ) -> KafkaConsumer:
        return KafkaConsumer(
            self.bootstrap, topics, client_id, group_id, from_beginning, self.tuning,
            self.security,
        )  # fmt: skip

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            request_timeout_ms=int(self.connect_timeout * 1000),
            **sasl_options(self.security),
        )
        await _connect(admin.start, self.bootstrap, self.connect_timeout)
        try:
            existing = set(await admin.list_topics())
            durability = {"min.insync.replicas": str(self.tuning.min_insync_replicas)}
            new = [
                NewTopic(
                    s.name,
                    s.partitions,
                    self.tuning.replication,
                    topic_configs={**durability, **s.config},
                )
                for s in specs
                if s.name not in existing
            ]
            if new:
                response = await admin.create_topics(new)
                for name, code, *_ in getattr(response, "topic_errors", ()):
                    if code not in (0, TOPIC_ALREADY_EXISTS):
                        raise TransportError(f"cannot create topic {name}: error code {code}")
        finally:
            await admin.close()

    async def close(self) -> None:
        return None
