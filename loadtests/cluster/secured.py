"""A secured local cluster: SASL on every listener, deny-by-default ACLs, one admin per cluster.

Clients and brokers authenticate with SCRAM-SHA-512 on the client listener (brokers replicate as
the admin through it). The KRaft controller listener uses PLAIN with a static JAAS user: SCRAM
credentials live in the metadata log, which a controller has not loaded when the quorum first
talks. Both accept only the admin, Kafka's one super user; every other principal gets exactly
the grants of services/security/access.py. With TLS both listeners are SASL_SSL instead.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from loadtests.cluster.jars import BrokerError
from loadtests.cluster.probe import HOST
from loadtests.cluster.tls import ensure_tls, keystore_beside
from services.security import (
    ADMIN,
    ClientSecurity,
    Credentials,
    CredentialsError,
    load_credentials,
    write_credentials,
)

__all__ = ["ClientSecurity", "admin_credentials", "admin_scram", "secured_listeners"]

ADMIN_FILE = "admin-credentials.yaml"
SCRAM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


def admin_credentials(data_dir: Path, tls: bool = False) -> Credentials:
    """The cluster's admin identity, made once per data dir and kept there (mode 0600); with
    tls, the listeners are SASL_SSL and clients trust the data dir's own CA."""
    path = data_dir / ADMIN_FILE
    try:
        kept = load_credentials(path) if path.exists() else None
    except CredentialsError as exc:
        raise BrokerError(str(exc)) from None
    password = kept.identities[ADMIN] if kept else SecretStr(secrets.token_urlsafe(32))
    wanted = Credentials(
        protocol="SASL_SSL" if tls else "SASL_PLAINTEXT",
        ca_file=ensure_tls(data_dir).ca if tls else None,
        identities={ADMIN: password},
    )
    if wanted != kept:
        write_credentials(path, wanted)
    return wanted


def tls_settings(admin: ClientSecurity) -> dict[str, str]:
    """Kafka reads the PEM files made by loadtests.cluster.tls directly."""
    if admin.ca_file is None:
        raise BrokerError("a SASL_SSL admin needs the CA file of its cluster")
    return {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore_beside(admin.ca_file)),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(admin.ca_file),
    }


def _jaas_value(admin: ClientSecurity) -> str:
    password = admin.password.get_secret_value()
    if any(c in password + admin.principal for c in '"\\;'):
        raise BrokerError("the admin's name and password must not hold quotes, ';' or '\\'")
    return password


def secured_listeners(port: int, controller_port: int, admin: ClientSecurity) -> dict[str, str]:
    """Listener, SASL and authorizer settings; the JAAS values make the file a secret (0600)."""
    user, password, protocol = admin.principal, _jaas_value(admin), admin.protocol
    tls = tls_settings(admin) if protocol == "SASL_SSL" else {}
    return {
        "listeners": f"CLIENT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"CLIENT://{HOST}:{port}",
        "listener.security.protocol.map": f"CLIENT:{protocol},CONTROLLER:{protocol}",
        **tls,
        "inter.broker.listener.name": "CLIENT",
        "controller.listener.names": "CONTROLLER",
        "sasl.enabled.mechanisms": SCRAM,
        "sasl.mechanism.inter.broker.protocol": SCRAM,
        "listener.name.client.sasl.enabled.mechanisms": SCRAM,
        "listener.name.client.scram-sha-512.sasl.jaas.config": (
            f'{SCRAM_MODULE} required username="{user}" password="{password}";'
        ),
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": (
            f'{PLAIN_MODULE} required username="{user}" password="{password}" '
            f'user_{user}="{password}";'
        ),
        "authorizer.class.name": AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{user}",
    }


def admin_scram(admin: ClientSecurity) -> str:
    """The StorageTool's --add-scram value creating the admin's SCRAM credential."""
    return f"{SCRAM}=[name={admin.principal},password={_jaas_value(admin)}]"
