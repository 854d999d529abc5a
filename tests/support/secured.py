"""A secured one-node cluster provisioned for a topology, with its topics, always stopped after."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loadtests.cluster import LocalCluster
from loadtests.cluster.provision import Provisioned, provision
from loadtests.stack.runtopics import stack_topics
from services.config.settings import Settings, load_settings
from services.kafka.bus import KafkaTransport, sasl_options
from services.security.credentials import ClientSecurity
from services.security.credfile import write_credentials
from services.world.topology import Topology


@dataclass(frozen=True)
class SecuredStack:
    bootstrap: str
    admin: ClientSecurity
    provisioned: Provisioned
    data_dir: Path

    def login(self, principal: str) -> dict[str, Any]:
        """aiokafka keyword arguments to connect as one provisioned principal."""
        return {
            "bootstrap_servers": self.bootstrap,
            **sasl_options(self.provisioned.credentials.security_for(principal)),
        }


@contextmanager
def secured_stack(data_dir: Path, topology: Topology, tls: bool = False) -> Iterator[SecuredStack]:
    """Start a secured node, create the topology's users, ACLs and topics; stop it after."""
    cluster = LocalCluster(data_dir, nodes=1, secured=True, tls=tls)
    admin = cluster.admin
    assert admin is not None
    try:
        bootstrap = cluster.start()
        provisioned = provision(bootstrap, admin, topology)
        transport = KafkaTransport(bootstrap, security=admin)
        asyncio.run(
            transport.ensure_topics(
                stack_topics(topology.agencies(), bulk_by=topology.reconcilers())
            )
        )
        yield SecuredStack(bootstrap, admin, provisioned, cluster.data_dir)
    finally:
        cluster.stop()


@dataclass(frozen=True)
class SecuredCluster:
    """A secured cluster for runs that are given it, and a credentials file holding every
    identity of the run (the registry's run secret too), as a user of an existing cluster
    writes one."""

    stack: SecuredStack
    credentials: Path


@contextmanager
def secured_cluster(home: Path, topology: Topology) -> Iterator[SecuredCluster]:
    with secured_stack(home / "kafka", topology) as stack:
        path = write_credentials(home / "all.credentials.yaml", stack.provisioned.credentials)
        yield SecuredCluster(stack, path)


@contextmanager
def playing_on(cluster: SecuredCluster) -> Iterator[Settings]:
    """Settings of a run given this secured cluster; the services it starts find the same
    credentials file in the environment."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NDX_CREDENTIALS", str(cluster.credentials))
        yield load_settings(KAFKA_BOOTSTRAP_SERVERS=cluster.stack.bootstrap)
