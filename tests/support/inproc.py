"""Runs the registry inside the test process, on any transport, wired as its service wires it."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

from loadtests.engine.resolve import apply_scenario
from loadtests.scenario.model import Scenario
from services.config.design import Design, ServiceTime
from services.config.runconfig import RunConfig, key_check, topology_digest
from services.kafka.transport import Transport
from services.loop.runtime import ServiceLoop
from services.registry.__main__ import registry_app, run_registry
from services.registry.agreements import LegalBasis
from services.registry.decisions import Registry
from services.registry.overlay import Overlay
from services.registry.worktime import Database
from services.wire.codec import Codec
from services.world.population import Population
from services.world.topology import Topology, load_topology

SEED = 6
AUDIT_KEY = b"test-audit-key-0123"
REPO = Path(__file__).resolve().parents[2]
DEMO_TOPOLOGY = REPO / "loadtests" / "topologies" / "demo.yaml"


def demo_topology() -> Topology:
    return load_topology(DEMO_TOPOLOGY)


def make_registry(topology: Topology | None = None, name: str = "registry-test") -> Registry:
    basis = LegalBasis(topology or demo_topology())
    database = Database(ServiceTime(), 1, random.Random(SEED))
    return Registry(Population(SEED), Overlay(), name, AUDIT_KEY, basis, database)


@contextlib.asynccontextmanager
async def registry_loop(
    transport: Transport,
    topology: Topology | None = None,
    codec: Codec | None = None,
    name: str = "registry-test",
) -> AsyncIterator[ServiceLoop]:
    """A started registry (overlay rebuilt, answering); stopped and closed on exit."""
    app = registry_app(transport, topology or demo_topology(), SEED, AUDIT_KEY, name, codec)
    async with app as (loop, follower):
        stop = asyncio.Event()
        task = asyncio.create_task(run_registry(loop, follower, stop))
        try:
            yield loop
        finally:
            stop.set()
            await task


def run_config(scenario: Scenario, run_id: str, design: Design | None = None) -> RunConfig:
    """The run configuration `ndxsim run` would resolve, for a run on the in-memory twin."""
    played, _ = apply_scenario(scenario, design or Design(name="unit"))
    return RunConfig(
        run_id=run_id,
        seed=SEED if scenario.seed is None else scenario.seed,
        topology_file=str(DEMO_TOPOLOGY),
        topology_sha256=topology_digest(DEMO_TOPOLOGY),
        audit_key_check=key_check(AUDIT_KEY),
        design=played,
    )
