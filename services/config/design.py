"""Integration designs as data: what system a scenario is played on, validated like scenarios."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.config.yamlfile import InputFileError, load_model

__all__ = [
    "BULK_MAX_CHUNK",
    "Bulk",
    "Clients",
    "Cluster",
    "Consumers",
    "Design",
    "DesignError",
    "Ministries",
    "Producers",
    "Quota",
    "RegistryDesign",
    "Requesters",
    "Security",
    "ServiceTime",
    "Topics",
    "load_design",
]

Z99 = 2.3263478740408408  # standard normal quantile of 0.99
Partitions = Annotated[int, Field(ge=1, le=1024)]
PRINCIPAL = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


class DesignError(InputFileError):
    """A design file is unreadable or invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cluster(_Strict):
    """Where the topics live: local KRaft nodes started for the run, or a cluster given."""

    brokers: Literal[1, 3, "existing"] = 1
    replication_factor: int = Field(1, ge=1, le=5)
    min_insync_replicas: int = Field(1, ge=1, le=5)
    heap: str = Field("768m", pattern=r"^[0-9]+[mg]$", description="JVM heap per local node.")

    @model_validator(mode="after")
    def _replicas_fit(self) -> Cluster:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"min_insync_replicas ({self.min_insync_replicas}) exceeds "
                f"replication_factor ({self.replication_factor})"
            )
        if isinstance(self.brokers, int) and self.replication_factor > self.brokers:
            raise ValueError(
                f"replication_factor ({self.replication_factor}) exceeds brokers ({self.brokers})"
            )
        return self


class Topics(_Strict):
    """Partitions per topic: requests bound how many registry instances can share the work."""

    requests: Partitions = 6
    civil: Partitions = 3
    replies: Partitions = 2
    changes: Partitions = 3
    audit: Partitions = 3
    dossiers: Partitions = 3


class ServiceTime(_Strict):
    """The population database's own work per request, so the knee found is the design's."""

    model: Literal["none", "fixed", "lognormal"] = "none"
    ms: float | None = Field(None, ge=0, le=60_000, description="fixed: the delay.")
    p50_ms: float | None = Field(None, gt=0, le=60_000, description="lognormal: median.")
    p99_ms: float | None = Field(None, gt=0, le=600_000, description="lognormal: 99th pct.")

    @model_validator(mode="after")
    def _parameters(self) -> ServiceTime:
        if self.model == "fixed" and self.ms is None:
            raise ValueError("model fixed needs ms")
        if self.model == "lognormal":
            if self.p50_ms is None or self.p99_ms is None:
                raise ValueError("model lognormal needs p50_ms and p99_ms")
            if self.p99_ms < self.p50_ms:
                raise ValueError(f"p99_ms ({self.p99_ms}) is below p50_ms ({self.p50_ms})")
        return self

    @property
    def mean_ms(self) -> float:
        """Expected work per request, for capacity arithmetic in reports."""
        if self.model == "fixed":
            return float(self.ms or 0.0)
        if self.model == "lognormal" and self.p50_ms and self.p99_ms:
            sigma = math.log(self.p99_ms / self.p50_ms) / Z99
            return self.p50_ms * math.exp(sigma * sigma / 2)
        return 0.0


class RegistryDesign(_Strict):
    """Registry instances in one consumer group, each working `concurrency` requests at once."""

    instances: int = Field(1, ge=1, le=16)
    concurrency: int = Field(64, ge=1, le=10_000)
    batch_size: int = Field(500, ge=1, le=100_000)
    commit_interval_ms: int = Field(100, ge=0, le=60_000, description="0: after every batch.")
    service_time: ServiceTime = ServiceTime()
    read_ahead: int | None = Field(
        None,
        ge=0,
        le=100_000,
        description="Requests read beyond the slots (default: as many as there are slots); "
        "the rest of a queue waits in Kafka as consumer lag.",
    )

    def window(self) -> int:
        """Requests one instance holds undecided: its slots plus what it reads ahead."""
        ahead = self.concurrency if self.read_ahead is None else self.read_ahead
        return self.concurrency + ahead


class Producers(_Strict):
    """Every producer of the run; idempotence holds only with acks=all."""

    acks: Literal["all", 1, 0] = "all"
    linger_ms: int = Field(0, ge=0, le=10_000)  # batches still form while one is in flight
    batch_size: int = Field(262_144, ge=1024, le=16 * 1024 * 1024)
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"


class Consumers(_Strict):
    fetch_max_wait_ms: int = Field(500, ge=0, le=60_000)
    fetch_min_bytes: int = Field(1, ge=1, le=64 * 1024 * 1024)
    max_partition_fetch_bytes: int = Field(1_048_576, ge=1024, le=64 * 1024 * 1024)


class Requesters(_Strict):
    """What a requesting agency does when no answer comes in time."""

    timeout_s: float = Field(5.0, gt=0, le=600)
    retries: int = Field(0, ge=0, le=10, description="Resends after a timeout, same request id.")
    backoff: float = Field(2.0, ge=1.0, le=10.0, description="Each attempt waits this much longer.")
    retry_budget: float = Field(0.2, ge=0, le=10, description="Retries per first send, at most.")


class Ministries(_Strict):
    """Ministries holding a replica fed by the change feed answer repeat verifications locally."""

    cache: bool = False
    cache_capacity: int = Field(1_000_000, ge=1, le=100_000_000)


class Security(_Strict):
    """Per-agency SASL/SCRAM identities, deny-by-default ACLs and signed records; on unless a
    design measures its cost with `enabled: false`."""

    enabled: bool = True
    tls: bool = False


Library = Literal["aiokafka", "librdkafka"]
Side = Literal["agencies", "registry", "services"]


class Clients(_Strict):
    """Which Kafka client library the run's clients are built on: one for the whole run, or
    another for one side (the agencies' workers, the registry, the other services)."""

    library: Library = "aiokafka"
    agencies: Library | None = None
    registry: Library | None = None
    services: Library | None = None

    def agencies_apart(self) -> Library | None:
        """The agencies' library when it is not the run's."""
        return self.agencies if self.agencies not in (None, self.library) else None

    def on(self, side: Side) -> Library:
        """The library of one side: its own when the design names one, else the run's."""
        own = {"agencies": self.agencies, "registry": self.registry, "services": self.services}
        return own[side] or self.library


class Quota(_Strict):
    """Kafka client quotas on one principal, as the broker enforces them (absent: no limit)."""

    producer_byte_rate: int | None = Field(None, ge=1024, le=10 * 1024**3, description="bytes/s")
    consumer_byte_rate: int | None = Field(None, ge=1024, le=10 * 1024**3, description="bytes/s")
    request_percentage: float | None = Field(
        None, gt=0, le=10_000, description="% of one broker thread's time, per quota window."
    )

    @model_validator(mode="after")
    def _something(self) -> Quota:
        if not self.given():
            raise ValueError(
                "give at least one of producer_byte_rate, consumer_byte_rate, request_percentage"
            )
        return self

    def given(self) -> dict[str, float]:
        """The quota's keys as Kafka names them, with their values."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


BULK_MAX_CHUNK = 2000  # items of one bulk request (services/wire/bounds.py holds records to it)


class Bulk(_Strict):
    """How the tax authority's bulk reconciliation shares the platform with interactive
    verifications: on their topic and registry instances, or on a lane of its own; in chunks of
    `chunk` items, at a pace it holds itself to, within the quotas the broker enforces."""

    lane: Literal["shared", "separate"] = "shared"
    chunk: int = Field(500, ge=1, le=BULK_MAX_CHUNK, description="Items per bulk request.")
    rate_per_s: float | None = Field(
        None, gt=0, le=1_000_000, description="Items per second at most (absent: unpaced)."
    )
    in_flight: int = Field(4, ge=1, le=256, description="Bulk requests awaiting answers at once.")
    timeout_s: float = Field(60.0, gt=0, le=3600, description="A chunk unanswered is sent again.")
    instances: int = Field(1, ge=1, le=16, description="Registry instances of a separate lane.")
    quotas: dict[str, Quota] = Field(
        default_factory=dict, description="Principal (e.g. ministry.tax) -> its quotas."
    )

    @field_validator("quotas")
    @classmethod
    def _principals(cls, v: dict[str, Quota]) -> dict[str, Quota]:
        bad = [p for p in v if not PRINCIPAL.fullmatch(p)]
        if bad:
            raise ValueError(f"not a principal name: {', '.join(map(repr, bad))}")
        return v


class Design(_Strict):
    """A whole integration design; every section has today's behaviour as its default."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    question: str = Field("", description="What an architect learns from playing this design.")
    cluster: Cluster = Cluster()
    topics: Topics = Topics()
    registry: RegistryDesign = RegistryDesign()
    producers: Producers = Producers()
    consumers: Consumers = Consumers()
    requesters: Requesters = Requesters()
    ministries: Ministries = Ministries()
    security: Security = Security()
    clients: Clients = Clients()
    bulk: Bulk = Bulk()

    @model_validator(mode="after")
    def _quotas_need_principals(self) -> Design:
        if self.bulk.quotas and not self.security.enabled:
            raise ValueError(
                "bulk.quotas are per authenticated principal: they need security.enabled"
            )
        return self


def load_design(path: Path) -> Design:
    """Read and validate a design file; every problem names the file and the field."""
    return load_model(path, Design, DesignError)
