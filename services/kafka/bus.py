"""The Kafka transport: aiokafka clients configured for durable, at-least-once sharing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Self

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.kafka.client import (
    RETRY_BACKOFF_MS,
    ClientTuning,
    client_errors,
    connect_within,
    sasl_options,
)
from services.kafka.consumer import KafkaConsumer
from services.kafka.producer import KafkaProducer
from services.kafka.transport import Consumer, NotAuthorized, Producer, TransportError
from services.security import ClientSecurity
from services.wire import TopicSpec

__all__ = [
    "RETRY_BACKOFF_MS",
    "ClientTuning",
    "KafkaConsumer",
    "KafkaProducer",
    "KafkaTransport",
    "sasl_options",
]

TOPIC_ALREADY_EXISTS = 36
NOT_AUTHORIZED = (29, 31)  # TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED


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

    # The client classes this transport builds; a sibling transport on another library
    # names its own and inherits everything else.
    producer_class: ClassVar[Callable[..., Producer]] = KafkaProducer
    consumer_class: ClassVar[Callable[..., Consumer]] = KafkaConsumer

    def as_principal(self, security: ClientSecurity | None) -> Self:
        """The same cluster and tuning, authenticating as another principal."""
        return type(self)(self.bootstrap, self.tuning, security)

    def off_path(self) -> Self:
        """The same principal, its consumers tuned for tallies rather than latency."""
        return type(self)(self.bootstrap, self.tuning.off_path(), self.security)

    def producer(self, client_id: str) -> Producer:
        return self.producer_class(self.bootstrap, client_id, self.tuning, self.security)

    def consumer(
        self,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None = None,
        from_beginning: bool = False,
    ) -> Consumer:
        return self.consumer_class(
            self.bootstrap,
            topics,
            client_id,
            group_id,
            from_beginning,
            self.tuning,
            self.security,
        )

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        """Create the missing ones; NotAuthorized when this principal may not (only the
        cluster's admin creates topics on a secured one)."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            request_timeout_ms=int(self.connect_timeout * 1000),
            **sasl_options(self.security),
        )
        await connect_within(admin.start, self.bootstrap, self.connect_timeout)
        try:
            with client_errors(f"creating topics on {self.bootstrap}"):
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
                with client_errors(f"creating topics on {self.bootstrap}"):
                    response = await admin.create_topics(new)
                for name, code, *_ in getattr(response, "topic_errors", ()):
                    if code in NOT_AUTHORIZED:
                        raise NotAuthorized(f"cannot create topic {name}: error code {code}")
                    if code not in (0, TOPIC_ALREADY_EXISTS):
                        raise TransportError(f"cannot create topic {name}: error code {code}")
        finally:
            await admin.close()

    async def close(self) -> None:
        return None
