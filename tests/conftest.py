"""Shared fixtures: test tiers marked by folder, one real Kafka broker per session, and one
secured cluster per session for the runs that need nothing of a cluster but its security."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.secured import SecuredCluster

TIERS = ("unit", "contract", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS if set, else testcontainers when Docker answers, else the jar broker.

    Never skips: a broker that cannot be had fails the tests that need it.
    """
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from loadtests.cluster.localbroker import LocalBroker
    from loadtests.stack.serviceproc import free_port

    broker = LocalBroker(
        tmp_path_factory.mktemp("kafka"), port=free_port(), controller_port=free_port()
    )
    bootstrap = broker.start()
    try:
        yield bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def secured_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredCluster]:
    """A secured one-node cluster (SASL identities, ACLs, signed records) provisioned for the
    demo topology, with a credentials file holding every identity, shared by the runs that are
    given it. Runs on it follow one another on the platform's own topics: each run's registry
    group takes up where the last run committed, and a whole topic read back holds other runs'
    records too. Tests that stop, kill or restart a broker start a cluster of their own, and so
    do tests that write to its topics what no run of theirs consumes."""
    from services.config.settings import REPO_ROOT
    from services.world.topology import load_topology
    from tests.support.secured import secured_cluster

    topology = load_topology(REPO_ROOT / "loadtests" / "topologies" / "demo.yaml")
    with secured_cluster(tmp_path_factory.mktemp("secured-demo"), topology) as cluster:
        yield cluster
