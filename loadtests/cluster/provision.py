"""Gives a secured cluster its users and ACLs through the Admin API, as the stack's admin: one
AlterUserScramCredentials and one CreateAcls call for the whole topology (services.kafka.admin).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from services.kafka import ClusterAdmin, TransportError
from services.security import (
    REGISTRY,
    AclRow,
    ClientSecurity,
    Credentials,
    acl_table,
    new_run_secret,
    principals,
    process_identities,
    write_credentials,
)
from services.world import Topology

SCRAM_ITERATIONS = 4096  # Kafka's minimum for SCRAM-SHA-512; clients pay it once per connection


class ProvisionError(RuntimeError):
    """The cluster refused users or ACLs; the message names what and why."""


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What provisioning made: every identity's credentials, the grants, and how long it took."""

    credentials: Credentials
    acls: tuple[AclRow, ...]
    seconds: float


def provision(
    bootstrap: str, admin: ClientSecurity, topology: Topology, timeout: float = 30.0
) -> Provisioned:
    """Create every principal's SCRAM user with a fresh random password and apply the ACL table."""
    began = time.monotonic()
    passwords = {p: SecretStr(secrets.token_urlsafe(24)) for p in principals(topology)}
    rows = tuple(acl_table(topology))
    cluster = ClusterAdmin(bootstrap, admin, timeout)
    try:
        cluster.set_scram_passwords(passwords, SCRAM_ITERATIONS)
        cluster.grant(rows)
    except TransportError as exc:
        raise ProvisionError(str(exc)) from None
    credentials = Credentials(
        protocol=admin.protocol,
        mechanism=admin.mechanism,
        ca_file=admin.ca_file,
        identities=passwords,
        run_secret=SecretStr(new_run_secret()),
    )
    return Provisioned(credentials, rows, time.monotonic() - began)


VERIFIERS = frozenset({REGISTRY, "tax"})


def write_process_files(
    directory: Path, credentials: Credentials, topology: Topology, only: Iterable[str] = ()
) -> dict[str, Path]:
    """One private credentials file per process of the stack, holding only its identities and
    signing keys; only the registry and the tax authority's reconciler hold the run secret
    (they check the signature of every record they act on)."""
    wanted = set(only)
    return {
        process: write_credentials(
            directory / f"{process}.credentials.yaml",
            credentials.only(identities, process in VERIFIERS),
        )
        for process, identities in process_identities(topology).items()
        if identities and (not wanted or process in wanted)
    }
