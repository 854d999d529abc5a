"""Gives a secured cluster its users and ACLs through the Admin API, as the stack's admin.

aiokafka's admin client has neither ACLs nor SCRAM, so this speaks through confluent-kafka
(librdkafka): one AlterUserScramCredentials and one CreateAcls call for the whole topology.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from services.security.access import REGISTRY, AclRow, acl_table, principals, process_identities
from services.security.credentials import ClientSecurity, Credentials
from services.security.credfile import write_credentials
from services.security.signing import new_run_secret
from services.world.topology import Topology

log = logging.getLogger("ndx.provision")  # librdkafka's own lines, which name no secret
SCRAM_ITERATIONS = 4096  # Kafka's minimum for SCRAM-SHA-512; clients pay it once per connection


class ProvisionError(RuntimeError):
    """The cluster refused users or ACLs; the message names what and why."""


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What provisioning made: every identity's credentials, the grants, and how long it took."""

    credentials: Credentials
    acls: tuple[AclRow, ...]
    seconds: float


def admin_config(bootstrap: str, admin: ClientSecurity) -> dict[str, str | int | float | bool]:
    """librdkafka settings to act as the admin (the same SASL settings any principal uses)."""
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": bootstrap,
        "security.protocol": admin.protocol,
        "sasl.mechanism": admin.mechanism,
        "sasl.username": admin.principal,
        "sasl.password": admin.password.get_secret_value(),
    }
    if admin.ca_file is not None:
        config["ssl.ca.location"] = str(admin.ca_file)
    return config


def binding(row: AclRow) -> AclBinding:
    return AclBinding(
        ResourceType[row.resource],
        row.name,
        ResourcePatternType[row.pattern],
        f"User:{row.principal}",
        "*",
        AclOperation[row.operation],
        AclPermissionType.ALLOW,
    )


def _failures(futures: Mapping[Any, Future[Any]], timeout: float) -> list[str]:
    failed = []
    for key, future in futures.items():
        try:
            future.result(timeout)
        except (KafkaException, TimeoutError) as exc:
            failed.append(f"{key}: {exc}")
    return failed


def provision(
    bootstrap: str, admin: ClientSecurity, topology: Topology, timeout: float = 30.0
) -> Provisioned:
    """Create every principal's SCRAM user with a fresh random password and apply the ACL table."""
    began = time.monotonic()
    passwords = {p: SecretStr(secrets.token_urlsafe(24)) for p in principals(topology)}
    rows = tuple(acl_table(topology))
    client = AdminClient(admin_config(bootstrap, admin), logger=log)
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    users = client.alter_user_scram_credentials(
        [
            UserScramCredentialUpsertion(p, info, s.get_secret_value().encode())
            for p, s in passwords.items()
        ],
        request_timeout=timeout,
    )
    if failed := _failures(users, timeout):
        raise ProvisionError(f"{bootstrap}: SCRAM users refused: {'; '.join(failed[:5])}")
    acls = client.create_acls([binding(r) for r in rows], request_timeout=timeout)
    if failed := _failures(acls, timeout):
        raise ProvisionError(f"{bootstrap}: ACLs refused: {'; '.join(failed[:5])}")
    credentials = Credentials(
        protocol=admin.protocol,
        mechanism=admin.mechanism,
        ca_file=admin.ca_file,
        identities=passwords,
        run_secret=SecretStr(new_run_secret()),
    )
    return Provisioned(credentials, rows, time.monotonic() - began)


def write_process_files(
    directory: Path, credentials: Credentials, topology: Topology, only: Iterable[str] = ()
) -> dict[str, Path]:
    """One private credentials file per process of the stack, holding only its identities and
    signing keys; only the registry's holds the run secret (it checks every signature)."""
    wanted = set(only)
    return {
        process: write_credentials(
            directory / f"{process}.credentials.yaml",
            credentials.only(identities, process == REGISTRY),
        )
        for process, identities in process_identities(topology).items()
        if identities and (not wanted or process in wanted)
    }
