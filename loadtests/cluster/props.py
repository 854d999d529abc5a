"""What each node of a local KRaft cluster is told: one quorum, its own ports, shared replication.

Pure functions and data, so the rendered files can be checked without starting Java.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from loadtests.cluster.probe import HOST, free_port


class NodeAddress(BaseModel):
    """One combined broker+controller: its id, client and controller ports, metadata dir id."""

    model_config = ConfigDict(frozen=True)
    node_id: int
    port: int
    controller_port: int
    directory_id: str  # named in the initial voter set written at format time


class ClusterLayout(BaseModel):
    """Everything the nodes must agree on; kept with the data so a restart finds the same ports."""

    model_config = ConfigDict(frozen=True)
    cluster_id: str
    nodes: tuple[NodeAddress, ...]

    @classmethod
    def fresh(cls, count: int, ports: Callable[[], int] = free_port) -> ClusterLayout:
        taken: set[int] = set()
        nodes = []
        for node_id in range(1, count + 1):
            port, controller_port = _distinct(ports, taken), _distinct(ports, taken)
            nodes.append(
                NodeAddress(
                    node_id=node_id,
                    port=port,
                    controller_port=controller_port,
                    directory_id=kafka_uuid(),
                )
            )
        return cls(cluster_id=kafka_uuid(), nodes=tuple(nodes))

    def node(self, node_id: int) -> NodeAddress:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no node {node_id} in a {len(self.nodes)}-node cluster")

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{HOST}:{n.port}" for n in self.nodes)

    @property
    def replication(self) -> int:
        """Replicas of the internal topics (offsets, transactions, share state)."""
        return min(3, len(self.nodes))

    @property
    def min_isr(self) -> int:
        return min(2, len(self.nodes))

    def initial_controllers(self) -> str:
        """Every node is a voter; each is formatted with this same list (KIP-853)."""
        return ",".join(
            f"{n.node_id}@{HOST}:{n.controller_port}:{n.directory_id}" for n in self.nodes
        )


def listener_settings(node: NodeAddress) -> dict[str, str]:
    """Every listener setting lives here, so securing the listeners changes this one function."""
    return {
        "listeners": f"PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{node.port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
    }


def node_settings(layout: ClusterLayout, node_id: int, log_dir: Path) -> dict[str, str]:
    """The keys that differ between nodes or with the cluster's size."""
    rf, isr = str(layout.replication), str(layout.min_isr)
    return {
        "node.id": str(node_id),
        "controller.quorum.bootstrap.servers": ",".join(
            f"{HOST}:{n.controller_port}" for n in layout.nodes
        ),
        **listener_settings(layout.node(node_id)),
        "log.dirs": str(log_dir),
        "default.replication.factor": rf,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
    }


def render_properties(template: str, settings: Mapping[str, str]) -> str:
    """The template with each given key set in place, or appended when the template lacks it."""
    pending = dict(settings)
    lines = []
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and key in pending:
            line = f"{key}={pending.pop(key)}"
        lines.append(line)
    if pending:
        lines += ["", "# Set per node by loadtests/cluster/props.py."]
        lines += [f"{key}={value}" for key, value in pending.items()]
    return "\n".join(lines) + "\n"


def format_args(layout: ClusterLayout) -> list[str]:
    """kafka.tools.StorageTool arguments: the same cluster id and voter set on every node."""
    initial = layout.initial_controllers()
    return ["format", "--cluster-id", layout.cluster_id, "--initial-controllers", initial]


def kafka_uuid() -> str:
    """A random id in Kafka's own form; never starting with '-', which reads as an option."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def _distinct(ports: Callable[[], int], taken: set[int]) -> int:
    while (port := ports()) in taken:
        pass
    taken.add(port)
    return port
