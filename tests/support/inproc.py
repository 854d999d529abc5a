"""Runs the registry inside the test process, on any transport, wired as its service wires it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from services.registry.__main__ import registry_app, run_registry
from services.registry.agreements import LegalBasis
from services.registry.handlers import Registry
from services.registry.overlay import Overlay
from services.registry.population import Population
from services.shared.codec import Codec
from services.shared.runtime import ServiceLoop
from services.shared.topology import Topology, load_topology
from services.shared.transport import Transport

SEED = 6
AUDIT_KEY = b"test-audit-key-0123"
REPO = Path(__file__).resolve().parents[2]
DEMO_TOPOLOGY = REPO / "loadtests" / "topologies" / "demo.yaml"


def demo_topology() -> Topology:
    return load_topology(DEMO_TOPOLOGY)


def make_registry(topology: Topology | None = None, name: str = "registry-test") -> Registry:
    basis = LegalBasis(topology or demo_topology())
    return Registry(Population(SEED), Overlay(), name, AUDIT_KEY, basis)


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
