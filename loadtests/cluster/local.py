"""A local KRaft cluster of one or three combined nodes on 127.0.0.1 sharing one quorum."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import ValidationError

from loadtests.cluster.jars import DEFAULT_CACHE, BrokerError, read_text
from loadtests.cluster.node import KafkaNode, await_serving
from loadtests.cluster.props import ClusterLayout
from loadtests.cluster.secured import ClientSecurity, admin_credentials
from services.security import ADMIN

LAYOUT_FILE = "cluster.json"
SIZES = (1, 3)  # an even quorum survives no more failures than one node fewer


class LocalCluster:
    """N broker+controller JVMs in data_dir/node-<id>; ports and ids kept in data_dir/cluster.json.

    A JMX exporter, when asked for, listens on jmx_exporter_port + node id - 1. A secured
    cluster takes SASL clients only, denies what no ACL grants, and keeps its admin's generated
    password in data_dir/admin-credentials.yaml (mode 0600).
    """

    def __init__(
        self,
        data_dir: Path,
        nodes: int = 1,
        heap: str = "512m",
        jmx_exporter_port: int | None = None,
        cache: Path = DEFAULT_CACHE,
        secured: bool = False,
        tls: bool = False,
    ) -> None:
        if nodes not in SIZES:
            raise BrokerError(f"a local cluster has 1 or 3 nodes, not {nodes}")
        self.data_dir = data_dir.resolve()
        self.layout = self._planned(nodes)
        if tls and not secured:
            raise BrokerError("TLS comes with a secured cluster: pass secured=True too")
        self.credentials = admin_credentials(self.data_dir, tls) if secured else None
        self.nodes = {
            n.node_id: KafkaNode(
                self.layout,
                n.node_id,
                self.data_dir / f"node-{n.node_id}",
                heap,
                None if jmx_exporter_port is None else jmx_exporter_port + n.node_id - 1,
                cache,
                self.admin,
            )
            for n in self.layout.nodes
        }

    @property
    def bootstrap(self) -> str:
        """Every node's client address, so clients find the cluster whichever node is down."""
        return self.layout.bootstrap

    @property
    def admin(self) -> ClientSecurity | None:
        """The super user of a secured cluster (it provisions the others); None when plaintext."""
        return None if self.credentials is None else self.credentials.security_for(ADMIN)

    def pid(self, node: int) -> int | None:
        return self._node(node).pid

    def is_running(self, node: int) -> bool:
        return self._node(node).is_running()

    def start(self, timeout: float = 90.0) -> str:
        """Start every node; return the bootstrap once each lists all of them as brokers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / LAYOUT_FILE).write_text(self.layout.model_dump_json(indent=2) + "\n")
        try:
            for node in self.nodes.values():
                node.launch()
            await_serving(list(self.nodes.values()), len(self.nodes), timeout)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def stop(self, timeout: float = 30.0) -> None:
        """Controlled shutdown of every node at once; SIGKILL what is left after timeout."""
        for node in self.nodes.values():
            node.terminate()
        deadline = time.monotonic() + timeout
        for node in self.nodes.values():
            node.stop(max(0.0, deadline - time.monotonic()))

    def kill(self, node: int) -> None:
        """SIGKILL one node's JVM, as a crashed machine: no controlled shutdown."""
        self._node(node).kill()

    def stop_node(self, node: int, timeout: float = 30.0) -> None:
        """SIGTERM one node: it hands its leaderships over before it exits."""
        self._node(node).stop(timeout)

    def start_node(self, node: int, timeout: float = 90.0) -> None:
        """Start one node again; return once every running node lists all running brokers."""
        self._node(node).launch()
        running = [n for n in self.nodes.values() if n.is_running()]
        await_serving(running, len(running), timeout)

    def restart_node(self, node: int, down_s: float = 0.0, kill: bool = False) -> float:
        """Stop (or kill) one node, keep it down for down_s, start it; seconds until it serves."""
        started = time.monotonic()
        if kill:
            self.kill(node)
        else:
            self.stop_node(node)
        time.sleep(down_s)
        self.start_node(node)
        return time.monotonic() - started

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _node(self, node: int) -> KafkaNode:
        try:
            return self.nodes[node]
        except KeyError:
            raise BrokerError(f"no node {node}; nodes are {sorted(self.nodes)}") from None

    def _planned(self, nodes: int) -> ClusterLayout:
        """The layout kept with the data (its storage names the voters' ports), or a new one."""
        kept = read_text(self.data_dir / LAYOUT_FILE)
        if not kept:
            return ClusterLayout.fresh(nodes)
        try:
            layout = ClusterLayout.model_validate_json(kept)
        except ValidationError as exc:
            raise BrokerError(f"{self.data_dir / LAYOUT_FILE}: unreadable ({exc})") from None
        if len(layout.nodes) != nodes:
            raise BrokerError(
                f"{self.data_dir / LAYOUT_FILE} holds a {len(layout.nodes)}-node cluster, "
                f"not {nodes}; use another data dir"
            )
        return layout
