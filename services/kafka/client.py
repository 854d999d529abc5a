"""What every aiokafka client of a run shares: its tuning, its login, how it connects."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)
from aiokafka.helpers import create_ssl_context

from services.config import Design, Side
from services.kafka.transport import BrokerUnreachable, NotAuthorized, TransportError
from services.security import ClientSecurity

__all__ = [
    "NOT_AUTHORIZED",
    "OFF_PATH_MIN_BYTES",
    "OFF_PATH_WAIT_MS",
    "RETRY_BACKOFF_MS",
    "ClientTuning",
    "client_errors",
    "connect_within",
    "log",
    "sasl_options",
]

log = logging.getLogger("ndx.kafka")
# aiokafka retries a failed connection, fetch, heartbeat or produce after this fixed pause (its
# only backoff setting; 100 ms by default): while the broker is away each client tries twice a
# second instead of ten times, and a broker restart still costs well under a second.
RETRY_BACKOFF_MS = 500
OFF_PATH_WAIT_MS = 200  # a tally may lag its records by this much
OFF_PATH_MIN_BYTES = 64 * 1024


NOT_AUTHORIZED = (
    TopicAuthorizationFailedError,
    GroupAuthorizationFailedError,
    ClusterAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)


async def connect_within(start: Any, bootstrap: str, limit_s: float) -> None:
    try:
        await asyncio.wait_for(start(), limit_s)
    except (KafkaConnectionError, TimeoutError, OSError) as exc:
        raise BrokerUnreachable(
            f"no Kafka broker answers at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS): "
            f"{exc or 'timed out'}"
        ) from None


@contextlib.contextmanager
def client_errors(what: str) -> Iterator[None]:
    """aiokafka's errors inside become this package's: NotAuthorized when the cluster's ACLs
    refused, BrokerUnreachable when no broker answered, TransportError otherwise; `what` says
    what was attempted."""
    try:
        yield
    except NOT_AUTHORIZED as exc:
        raise NotAuthorized(f"{what}: {exc}") from exc
    except KafkaConnectionError as exc:
        raise BrokerUnreachable(f"{what}: {exc}") from exc
    except KafkaError as exc:
        raise TransportError(f"{what}: {type(exc).__name__}: {exc}") from exc


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
    library: Literal["aiokafka", "librdkafka"] = "aiokafka"

    @classmethod
    def of(
        cls, design: Design, connect_timeout: float = 8.0, side: Side = "services"
    ) -> ClientTuning:
        """The design's knobs for the clients of one side (its library may be its own)."""
        p, c, k = design.producers, design.consumers, design.cluster
        return cls(
            p.acks,
            p.linger_ms,
            p.batch_size,
            p.compression,
            c.fetch_max_wait_ms,
            c.fetch_min_bytes,
            c.max_partition_fetch_bytes,
            k.replication_factor,
            k.min_insync_replicas,
            connect_timeout,
            design.clients.on(side),
        )

    def off_path(self) -> ClientTuning:
        """For readers off every transaction's path (tallies): fewer, fuller fetches."""
        return dataclasses.replace(
            self, fetch_max_wait_ms=OFF_PATH_WAIT_MS, fetch_min_bytes=OFF_PATH_MIN_BYTES
        )

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
