"""deploy/compose.yaml publishes nothing beyond this host by default, its broker takes
authenticated clients only and denies by default, and Prometheus has no lifecycle API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"
LOCAL_BY_DEFAULT = re.compile(r"^\$\{NDX_PUBLISH_HOST:-127\.0\.0\.1\}:\d+:\d+$")


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return dict(loaded["services"])


def test_every_published_port_binds_to_127_0_0_1_unless_told_otherwise() -> None:
    published = {
        (name, str(port))
        for name, service in services().items()
        for port in service.get("ports", [])
    }
    assert published, "compose publishes no port at all: the test would prove nothing"
    wrong = sorted((name, port) for name, port in published if not LOCAL_BY_DEFAULT.match(port))
    assert not wrong, f"published on every interface: {wrong}"


def test_the_broker_takes_sasl_clients_only_and_denies_what_no_acl_grants() -> None:
    env = services()["kafka"]["environment"]
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))

    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, protocols
    assert "SCRAM-SHA-512" in env["KAFKA_SASL_ENABLED_MECHANISMS"].split(",")
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert "PLAINTEXT://" not in env["KAFKA_ADVERTISED_LISTENERS"]


def test_every_ndxsim_process_logs_in_with_its_own_credentials_file() -> None:
    ndx = {n: s for n, s in services().items() if s.get("image") == "ndxsim:local"}
    files = {n: s["environment"].get("NDX_CREDENTIALS") for n, s in ndx.items()}

    assert set(ndx) >= {"registry", "ministry", "province", "monitor", "driver"}
    assert all(files.values()), files
    assert len(set(files.values())) == len(files), f"processes share an identity file: {files}"


def test_prometheus_runs_without_its_lifecycle_api() -> None:
    command = services()["prometheus"]["command"]

    assert not [arg for arg in command if "enable-lifecycle" in arg], command
    assert not [arg for arg in command if "enable-admin-api" in arg], command
