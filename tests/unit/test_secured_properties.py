"""A secured local node listens only with SASL, denies by default, trusts one admin, and keeps
the admin's password in files only their owner may read; checked without starting Java."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from loadtests.cluster import BrokerError, LocalCluster
from loadtests.cluster.localbroker import LocalBroker
from loadtests.cluster.props import format_args
from services.security.access import ADMIN


def parse(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"]
    return {key: value for key, value in pairs}


def rendered(cluster: LocalCluster, node: int) -> dict[str, str]:
    return parse(cluster.nodes[node].write_properties().read_text())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_listener_of_a_secured_node_asks_for_sasl(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, nodes=3, secured=True)

    for node in cluster.layout.nodes:
        props = rendered(cluster, node.node_id)
        assert props["listeners"] == (
            f"CLIENT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
        )
        assert props["listener.security.protocol.map"] == (
            "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
        )
        assert props["advertised.listeners"] == f"CLIENT://127.0.0.1:{node.port}"
        assert props["inter.broker.listener.name"] == "CLIENT"
        assert props["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
        assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
        # SCRAM users live in the metadata log; the quorum must talk before it is loaded.
        assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
        assert props["sasl.mechanism.controller.protocol"] == "PLAIN"


def test_a_secured_node_denies_by_default_and_trusts_only_the_admin(tmp_path: Path) -> None:
    props = rendered(LocalCluster(tmp_path, nodes=1, secured=True), 1)

    assert props["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == f"User:{ADMIN}"


def test_the_admin_password_is_only_in_files_their_owner_alone_may_read(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, nodes=3, secured=True)
    for node in cluster.nodes.values():
        node.write_properties()
    assert cluster.admin is not None
    password = cluster.admin.password.get_secret_value()

    holding = [p for p in tmp_path.rglob("*") if p.is_file() and password in p.read_text()]

    assert sorted(p.name for p in holding) == ["admin-credentials.yaml"] + ["server.properties"] * 3
    assert all(mode(p) == 0o600 for p in holding)
    assert password not in repr(cluster.admin)


def test_a_data_dir_keeps_its_admin_and_a_new_one_gets_its_own(tmp_path: Path) -> None:
    first = LocalCluster(tmp_path / "a", secured=True).admin
    again = LocalCluster(tmp_path / "a", secured=True).admin
    other = LocalBroker(tmp_path / "b", port=1, controller_port=2, secured=True).admin

    assert first is not None and again is not None and other is not None
    assert first.password == again.password
    assert first.password != other.password


def test_the_admin_is_formatted_into_the_first_metadata(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, secured=True)
    assert cluster.admin is not None

    args = format_args(cluster.layout, cluster.admin)

    scram = args[args.index("--add-scram") + 1]
    assert scram == (
        f"SCRAM-SHA-512=[name={ADMIN},password={cluster.admin.password.get_secret_value()}]"
    )


def test_a_plaintext_node_stays_as_it_was(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, nodes=1)
    text = cluster.nodes[1].write_properties().read_text()

    assert cluster.admin is None
    assert "sasl" not in text and "authorizer" not in text
    protocols = parse(text)["listener.security.protocol.map"]
    assert protocols == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert "--add-scram" not in format_args(cluster.layout)


def test_with_tls_both_listeners_are_sasl_ssl_with_the_clusters_own_certificates(
    tmp_path: Path,
) -> None:
    cluster = LocalCluster(tmp_path, nodes=1, secured=True, tls=True)
    props = rendered(cluster, 1)
    assert cluster.admin is not None and cluster.admin.ca_file is not None

    assert props["listener.security.protocol.map"] == "CLIENT:SASL_SSL,CONTROLLER:SASL_SSL"
    assert props["ssl.truststore.location"] == str(cluster.admin.ca_file)
    keystore = Path(props["ssl.keystore.location"])
    assert (props["ssl.keystore.type"], props["ssl.truststore.type"]) == ("PEM", "PEM")
    assert "PRIVATE KEY" in keystore.read_text() and mode(keystore) == 0o600
    assert cluster.admin.protocol == "SASL_SSL"


def test_tls_without_sasl_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="secured=True"):
        LocalCluster(tmp_path, tls=True)
