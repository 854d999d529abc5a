"""The Kafka transport on librdkafka (confluent-kafka), for designs that measure the other client
library: the same protocols and guarantees as the aiokafka one, each client's blocking calls on
one poller thread that hands the event loop delivery reports and records in batches."""

from __future__ import annotations

from collections.abc import Sequence

from services.kafka.bus import KafkaTransport
from services.kafka.client import ClientTuning
from services.kafka.rdkafka.common import Delivered
from services.kafka.rdkafka.consumer import NativeConsumer
from services.kafka.rdkafka.producer import NativeProducer
from services.security import ClientSecurity
from services.wire import TopicSpec

__all__ = ["Delivered", "NativeConsumer", "NativeProducer", "NativeTransport"]


class NativeTransport:
    """Builds librdkafka clients for one cluster, tuned and logged in as KafkaTransport's
    are; topics it creates are made as KafkaTransport makes them."""

    def __init__(
        self,
        bootstrap: str,
        tuning: ClientTuning | None = None,
        security: ClientSecurity | None = None,
    ) -> None:
        self._topics = KafkaTransport(bootstrap, tuning, security)  # checks the tuning too
        self.bootstrap, self.tuning, self.security = bootstrap, self._topics.tuning, security
        self.connect_timeout = self.tuning.connect_timeout

    def as_principal(self, security: ClientSecurity | None) -> NativeTransport:
        """The same cluster and tuning, authenticating as another principal."""
        return NativeTransport(self.bootstrap, self.tuning, security)

    def off_path(self) -> NativeTransport:
        """The same principal, its consumers tuned for tallies rather than latency."""
        return NativeTransport(self.bootstrap, self.tuning.off_path(), self.security)

    def producer(self, client_id: str) -> NativeProducer:
        return NativeProducer(self.bootstrap, client_id, self.tuning, self.security)

    def consumer(
        self,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None = None,
        from_beginning: bool = False,
    ) -> NativeConsumer:
        return NativeConsumer(
            self.bootstrap,
            topics,
            client_id,
            group_id,
            from_beginning,
            self.tuning,
            self.security,
        )

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        await self._topics.ensure_topics(specs)

    async def close(self) -> None:
        return None
