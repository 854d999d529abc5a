"""Local KRaft Kafka started with `java`: one node, or three sharing one controller quorum;
client quotas on a secured one, and the throttle its brokers applied."""

from __future__ import annotations

from loadtests.cluster.jars import BrokerError, ensure_jars
from loadtests.cluster.local import LocalCluster
from loadtests.cluster.pids import pid_alive, running_pid, stop_from_pidfile
from loadtests.cluster.probe import Login, metadata_brokers
from loadtests.cluster.procs import (
    ProcessRecord,
    bare_pid,
    describe_exit,
    identify,
    read_pidfile,
    record_of,
    terminate,
    wait_gone,
    write_json,
)
from loadtests.cluster.quotas import (
    PrincipalThrottle,
    QuotaError,
    ThrottleMeter,
    apply_quotas,
    described_quotas,
    exporter_urls,
    remove_quotas,
    throttle_of,
)
from loadtests.cluster.secured import ADMIN_FILE

__all__ = [
    "ADMIN_FILE",
    "BrokerError",
    "LocalCluster",
    "Login",
    "PrincipalThrottle",
    "ProcessRecord",
    "QuotaError",
    "ThrottleMeter",
    "apply_quotas",
    "bare_pid",
    "describe_exit",
    "described_quotas",
    "ensure_jars",
    "exporter_urls",
    "identify",
    "metadata_brokers",
    "pid_alive",
    "read_pidfile",
    "record_of",
    "remove_quotas",
    "running_pid",
    "stop_from_pidfile",
    "terminate",
    "throttle_of",
    "wait_gone",
    "write_json",
]
