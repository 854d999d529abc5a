"""The Admin API: SCRAM users, ACLs and the brokers a cluster lists, through librdkafka
(confluent-kafka: synchronous, and aiokafka's admin client has neither ACLs nor SCRAM), and
consumer groups described through aiokafka's admin client for the asyncio side.

Every refusal comes out as this package's own errors (NotAuthorized, BrokerUnreachable,
TransportError); no client library's exception leaves this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)
from pydantic import BaseModel, SecretStr

from services.kafka.client import client_errors, connect_within, sasl_options
from services.kafka.transport import BrokerUnreachable, NotAuthorized, TransportError
from services.security import AclRow, ClientSecurity

__all__ = [
    "ClusterAdmin",
    "GroupDescriber",
    "GroupView",
    "count_brokers",
    "group_view",
    "rdkafka_config",
    "rdkafka_error",
]

log = logging.getLogger("ndx.kafka.admin")  # librdkafka's own lines, which name no secret
RdkafkaConfig = dict[str, str | int | float | bool]
REFUSED = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
}
AWAY = {KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN}


def rdkafka_config(bootstrap: str, security: ClientSecurity | None) -> RdkafkaConfig:
    """librdkafka settings to reach the cluster, as `security`'s principal when secured."""
    config: RdkafkaConfig = {"bootstrap.servers": bootstrap}
    if security is None:
        return config
    config |= {
        "security.protocol": security.protocol,
        "sasl.mechanism": security.mechanism,
        "sasl.username": security.principal,
        "sasl.password": security.password.get_secret_value(),
    }
    if security.ca_file is not None:
        config["ssl.ca.location"] = str(security.ca_file)
    return config


def rdkafka_error(exc: KafkaException | TimeoutError, what: str) -> TransportError:
    """A librdkafka failure as this package's error."""
    if isinstance(exc, TimeoutError):
        return BrokerUnreachable(f"{what}: timed out")
    error = exc.args[0] if exc.args else None
    code = error.code() if isinstance(error, KafkaError) else None
    text = error.str() if isinstance(error, KafkaError) else str(exc)
    if code in REFUSED:
        return NotAuthorized(f"{what}: {text}")
    if code in AWAY:
        return BrokerUnreachable(f"{what}: {text}")
    return TransportError(f"{what}: {text}")


def count_brokers(bootstrap: str, security: ClientSecurity | None, timeout_s: float) -> int:
    """Brokers the cluster lists in a Metadata answer (registered and unfenced), asked of the
    bootstrap address; BrokerUnreachable or NotAuthorized when no answer comes in time. Meant
    for probes: librdkafka's complaints while a node comes up are expected, so not logged."""
    client = AdminClient({**rdkafka_config(bootstrap, security), "log_level": 0})
    try:
        metadata = client.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise rdkafka_error(exc, f"metadata from {bootstrap}") from None
    return len(metadata.brokers)


def _binding(row: AclRow) -> AclBinding:
    return AclBinding(
        ResourceType[row.resource],
        row.name,
        ResourcePatternType[row.pattern],
        f"User:{row.principal}",
        "*",
        AclOperation[row.operation],
        AclPermissionType.ALLOW,
    )


class ClusterAdmin:
    """Users and grants made as the cluster's admin, each batch in one request; a batch any
    part of which the cluster refuses raises, naming the first refusals."""

    def __init__(self, bootstrap: str, admin: ClientSecurity, timeout_s: float = 30.0) -> None:
        self.bootstrap, self.timeout_s = bootstrap, timeout_s
        self._client = AdminClient(rdkafka_config(bootstrap, admin), logger=log)

    def set_scram_passwords(self, passwords: Mapping[str, SecretStr], iterations: int) -> None:
        """Create (or update) each principal's SCRAM-SHA-512 credential."""
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, iterations)
        upserts: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(p, info, s.get_secret_value().encode())
            for p, s in passwords.items()
        ]
        done = self._client.alter_user_scram_credentials(upserts, request_timeout=self.timeout_s)
        self._check(done, "SCRAM users")

    def grant(self, rows: Iterable[AclRow]) -> None:
        """One ALLOW ACL per row (host *)."""
        done = self._client.create_acls([_binding(r) for r in rows], request_timeout=self.timeout_s)
        self._check(done, "ACLs")

    def _check(self, futures: Mapping[Any, Future[Any]], what: str) -> None:
        failed: list[TransportError] = []
        for key, future in futures.items():
            try:
                future.result(self.timeout_s)
            except (KafkaException, TimeoutError) as exc:
                failed.append(rdkafka_error(exc, str(key)))
        if failed:
            refused = "; ".join(str(e) for e in failed[:5])
            denied = all(isinstance(e, NotAuthorized) for e in failed)
            error = NotAuthorized if denied else TransportError
            raise error(f"{self.bootstrap}: {what} refused: {refused}")


@dataclass(frozen=True)
class GroupView:
    """One DescribeGroups answer: the group's state and the client ids of its members."""

    state: str
    clients: frozenset[str]


class _Member(BaseModel):
    client_id: str = ""


class _Group(BaseModel):
    group: str = ""
    error_code: int = 0
    state: str = ""
    members: list[_Member] = []


class _Described(BaseModel):
    """The fields read of a DescribeGroups response; the rest of it is ignored."""

    groups: list[_Group] = []


def group_view(described: Mapping[str, object], group: str) -> GroupView | None:
    """The group's view from a DescribeGroups response as a plain object; None when the
    coordinator answered with an error for it. `described` is aiokafka's `to_object()` of the
    response, raw protocol data: it is validated here, where it enters."""
    for g in _Described.model_validate(described).groups:
        if g.group == group and not g.error_code:
            return GroupView(g.state, frozenset(m.client_id for m in g.members))
    return None


class GroupDescriber:
    """Asks the cluster who is in a consumer group, over one admin connection."""

    def __init__(
        self, bootstrap: str, security: ClientSecurity | None, client_id: str, connect_s: float
    ) -> None:
        self.bootstrap, self.connect_s = bootstrap, connect_s
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, client_id=client_id, **sasl_options(security)
        )

    async def start(self) -> None:
        """Connected within the connect timeout, or BrokerUnreachable."""
        await connect_within(self._admin.start, self.bootstrap, self.connect_s)

    async def stop(self) -> None:
        await self._admin.close()

    async def describe(self, group: str) -> GroupView | None:
        """The group as its coordinator sees it; None when the coordinator answered with an
        error for it; TransportError (or NotAuthorized) when it could not be asked."""
        with client_errors(f"describing group {group}"):
            answers = await self._admin.describe_consumer_groups([group])
        views = [group_view(a.to_object(), group) for a in answers]
        return next((v for v in views if v is not None), None)
