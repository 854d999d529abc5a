"""Is any broker there? A bounded metadata request through aiokafka's public consumer API."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

from services.kafka.client import RETRY_BACKOFF_MS, connect_within, sasl_options
from services.security import ClientSecurity


class KafkaProbe:
    """An idle consumer (no group, nothing assigned) whose topics() asks every known broker."""

    def __init__(
        self,
        bootstrap: str,
        client_id: str,
        timeout_s: float,
        security: ClientSecurity | None = None,
    ) -> None:
        self.bootstrap, self.client_id, self.timeout_s = bootstrap, client_id, timeout_s
        self.security = security
        self._c: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Connected within the timeout, or BrokerUnreachable (nothing left open)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=f"{self.client_id}.probe",
            enable_auto_commit=False,
            request_timeout_ms=int(self.timeout_s * 1000),
            retry_backoff_ms=RETRY_BACKOFF_MS,
            **sasl_options(self.security),
        )
        try:
            await connect_within(consumer.start, self.bootstrap, self.timeout_s)
        except BaseException:
            await consumer.stop()
            raise
        self._c = consumer

    async def check(self) -> None:
        """A metadata request over the known brokers; raises KafkaError when none answers."""
        assert self._c is not None, "start() first"
        await self._c.topics()

    async def stop(self) -> None:
        if self._c is not None:
            await self._c.stop()
