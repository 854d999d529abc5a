"""Each local node's rendered server.properties names one quorum, its own ports and the
replication the cluster's size allows; checked without starting Java."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest

from loadtests.cluster import BrokerError, LocalCluster
from loadtests.cluster.props import ClusterLayout, format_args, render_properties


def parse(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"]
    keys = Counter(key for key, _ in pairs)
    assert [k for k, n in keys.items() if n > 1] == [], "a key is set twice"
    return {key: value for key, value in pairs}


def rendered(cluster: LocalCluster, node: int) -> dict[str, str]:
    return parse(cluster.nodes[node].write_properties().read_text())


def is_kafka_uuid(text: str) -> bool:
    return len(text) == 22 and len(base64.urlsafe_b64decode(text + "==")) == 16


def test_three_nodes_share_one_quorum_and_each_listens_on_its_own_ports(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, nodes=3)
    addresses = cluster.layout.nodes
    quorum = ",".join(f"127.0.0.1:{n.controller_port}" for n in addresses)

    for node in addresses:
        props = rendered(cluster, node.node_id)
        assert props["node.id"] == str(node.node_id)
        assert props["process.roles"] == "broker,controller"
        assert props["controller.quorum.bootstrap.servers"] == quorum
        assert "controller.quorum.voters" not in props  # a dynamic (KIP-853) quorum
        assert props["listeners"] == (
            f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
        )
        assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{node.port}"
        assert props["log.dirs"] == str(tmp_path.resolve() / f"node-{node.node_id}" / "kraft")

    ports = [p for n in addresses for p in (n.port, n.controller_port)]
    assert len(set(ports)) == 6
    assert cluster.bootstrap == ",".join(f"127.0.0.1:{n.port}" for n in addresses)


@pytest.mark.parametrize(("nodes", "replicas", "min_isr"), [(1, "1", "1"), (3, "3", "2")])
def test_internal_topics_are_replicated_as_far_as_the_cluster_allows(
    tmp_path: Path, nodes: int, replicas: str, min_isr: str
) -> None:
    props = rendered(LocalCluster(tmp_path, nodes=nodes), 1)

    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == replicas, key
    assert props["transaction.state.log.min.isr"] == min_isr
    assert props["share.coordinator.state.topic.min.isr"] == min_isr
    assert props["min.insync.replicas"] == "1"  # topics bring their own


def test_a_crashed_node_is_fenced_within_seconds(tmp_path: Path) -> None:
    props = rendered(LocalCluster(tmp_path, nodes=3), 2)

    assert int(props["broker.session.timeout.ms"]) <= 5000
    assert int(props["broker.heartbeat.interval.ms"]) * 4 <= int(props["broker.session.timeout.ms"])


def test_every_node_is_formatted_with_the_same_cluster_id_and_voter_set() -> None:
    layout = ClusterLayout.fresh(3)
    args = format_args(layout)

    assert args[:3] == ["format", "--cluster-id", layout.cluster_id]
    voters = args[args.index("--initial-controllers") + 1].split(",")
    assert voters == [
        f"{n.node_id}@127.0.0.1:{n.controller_port}:{n.directory_id}" for n in layout.nodes
    ]
    ids = [layout.cluster_id, *(n.directory_id for n in layout.nodes)]
    assert all(is_kafka_uuid(i) and not i.startswith("-") for i in ids)
    assert len(set(ids)) == 4


def test_ports_are_distinct_even_when_the_port_source_repeats_itself() -> None:
    given = iter([5000, 5000, 5001, 5001, 5002, 5003, 5004, 5005])
    layout = ClusterLayout.fresh(3, ports=lambda: next(given))

    assert [(n.port, n.controller_port) for n in layout.nodes] == [
        (5000, 5001),
        (5002, 5003),
        (5004, 5005),
    ]


def test_rendering_sets_template_keys_in_place_and_appends_the_others() -> None:
    template = "# note\nnode.id=7\nnum.io.threads=4\n"

    text = render_properties(template, {"node.id": "2", "log.dirs": "/d"})

    assert text.splitlines()[:3] == ["# note", "node.id=2", "num.io.threads=4"]
    assert parse(text) == {"node.id": "2", "num.io.threads": "4", "log.dirs": "/d"}


def test_a_data_dir_keeps_its_ports_for_the_next_launcher(tmp_path: Path) -> None:
    first = LocalCluster(tmp_path, nodes=3)
    (tmp_path / "cluster.json").write_text(first.layout.model_dump_json())

    assert LocalCluster(tmp_path, nodes=3).layout == first.layout
    with pytest.raises(BrokerError, match="holds a 3-node cluster, not 1"):
        LocalCluster(tmp_path, nodes=1)


def test_each_node_gets_its_own_jmx_exporter_port(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, nodes=3, jmx_exporter_port=19400)

    assert [cluster.nodes[i].jmx_exporter_port for i in (1, 2, 3)] == [19400, 19401, 19402]


@pytest.mark.parametrize("nodes", [0, 2, 4])
def test_a_cluster_size_other_than_one_or_three_is_refused(tmp_path: Path, nodes: int) -> None:
    with pytest.raises(BrokerError, match=f"1 or 3 nodes, not {nodes}"):
        LocalCluster(tmp_path, nodes=nodes)
