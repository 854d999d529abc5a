"""Local KRaft Kafka started with `java`: one node, or three sharing one controller quorum."""

from loadtests.cluster.jars import BrokerError, ensure_jars
from loadtests.cluster.local import LocalCluster
from loadtests.cluster.pids import pid_alive, running_pid, stop_from_pidfile

__all__ = [
    "BrokerError",
    "LocalCluster",
    "ensure_jars",
    "pid_alive",
    "running_pid",
    "stop_from_pidfile",
]
