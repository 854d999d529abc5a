"""Runs a real single-node KRaft Kafka broker with plain `java`, so ndxsim needs no Docker.

The machinery (jars, properties, pid files, readiness) is shared with loadtests.cluster, whose
LocalCluster runs one or three nodes; LocalBroker keeps its fixed ports and flat data dir.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loadtests.cluster.jars import DEFAULT_CACHE, KAFKA_VERSION, REPO_ROOT, BrokerError, ensure_jars
from loadtests.cluster.node import KafkaNode, await_serving
from loadtests.cluster.pids import (
    PID_FILE,
    pid_alive,
    running_pid,
    running_process,
    stop_from_pidfile,
    write_pid,
)
from loadtests.cluster.probe import HOST, port_in_use
from loadtests.cluster.props import ClusterLayout, NodeAddress, kafka_uuid
from loadtests.cluster.secured import admin_credentials
from services.security import ADMIN

__all__ = [
    "HOST",
    "KAFKA_VERSION",
    "PID_FILE",
    "REPO_ROOT",
    "BrokerError",
    "LocalBroker",
    "ensure_jars",
    "pid_alive",
    "port_in_use",
    "running_pid",
    "running_process",
    "stop_from_pidfile",
    "write_pid",
]

DEFAULT_DATA_DIR = REPO_ROOT / ".cache" / "kafka-data"


class LocalBroker:
    """One combined broker+controller JVM; its data stays in data_dir across restarts."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 9092,
        controller_port: int = 9093,
        jmx_exporter_port: int | None = None,
        heap: str = "1g",
        cache: Path = DEFAULT_CACHE,
        secured: bool = False,
        tls: bool = False,
    ) -> None:
        self.data_dir = data_dir.resolve()
        if tls and not secured:
            raise BrokerError("TLS comes with a secured broker: pass secured=True too")
        self.credentials = admin_credentials(self.data_dir, tls) if secured else None
        self.admin = None if self.credentials is None else self.credentials.security_for(ADMIN)
        self.port, self.controller_port = port, controller_port
        self.jmx_exporter_port, self.heap = jmx_exporter_port, heap
        node = NodeAddress(
            node_id=1, port=port, controller_port=controller_port, directory_id=kafka_uuid()
        )
        layout = ClusterLayout(cluster_id=kafka_uuid(), nodes=(node,))
        self._node = KafkaNode(layout, 1, self.data_dir, heap, jmx_exporter_port, cache, self.admin)

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._node.pid

    def is_running(self) -> bool:
        return self._node.is_running()

    def start(self, timeout: float = 90.0) -> str:
        """Start the JVM; return the bootstrap address once the broker serves clients."""
        if self.is_running():
            return self.bootstrap
        self._node.launch()
        try:
            await_serving([self._node], 1, timeout)
        except BaseException:
            self._node.stop()
            raise
        return self.bootstrap

    def command(self) -> list[str]:
        """The JVM's argv once everything it needs is ready, for a launcher of its own."""
        return self._node.command()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the JVM's process group (controlled shutdown), SIGKILL it after timeout."""
        self._node.stop(timeout)

    def restart(self, timeout: float = 90.0) -> str:
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """CLI for make: fetch | start (returns, broker keeps running) | stop | status."""
    parser = argparse.ArgumentParser(prog="localbroker", description=__doc__)
    parser.add_argument("command", choices=["fetch", "start", "stop", "status"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, default=9093)
    parser.add_argument("--jmx-port", type=int, default=None)
    parser.add_argument("--heap", default="1g")
    args = parser.parse_args(argv)
    pid = running_pid(args.data_dir)
    try:
        if args.command == "fetch":
            print(ensure_jars())
        elif args.command == "start" and pid is None:
            ports = (args.port, args.controller_port, args.jmx_port)
            print(LocalBroker(args.data_dir, *ports, heap=args.heap).start())
        elif args.command == "stop":
            print("stopped" if stop_from_pidfile(args.data_dir) else "not running")
        else:
            print(f"running (pid {pid})" if pid is not None else "not running")
            return 0 if pid is not None else 1
    except BrokerError as exc:
        print(f"localbroker: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
