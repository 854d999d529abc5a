"""Runs the registry's answer loop inside the test process, on any transport."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Sequence

from services.registry.handlers import Registry, handle_verification
from services.registry.overlay import Overlay
from services.registry.population import Population
from services.shared.codec import Catalogue, Codec
from services.shared.messages import VerificationRequested
from services.shared.runtime import ServiceLoop
from services.shared.topics import LOOKUP, VERIFY, topics_for
from services.shared.transport import Transport

SEED = 6
AUDIT_KEY = b"test-audit-key-0123"


def make_registry(agencies: Sequence[str], name: str = "registry-test") -> Registry:
    return Registry(Population(SEED), Overlay(), name, AUDIT_KEY, frozenset(agencies))


@contextlib.asynccontextmanager
async def registry_loop(
    transport: Transport, agencies: Sequence[str], codec: Codec | None = None
) -> AsyncIterator[ServiceLoop]:
    """A started registry loop; stopped and closed on exit."""
    await transport.ensure_topics(topics_for(list(agencies)))
    registry = make_registry(agencies)
    producer = transport.producer("registry-test")
    consumer = transport.consumer([VERIFY.name, LOOKUP.name], "registry-test", "ndx.registry")
    await producer.start()
    await consumer.start()
    loop = ServiceLoop(
        "registry",
        "ndx.registry",
        consumer,
        producer,
        codec or Codec(Catalogue()),
        {VerificationRequested: functools.partial(handle_verification, registry=registry)},
        request_id=lambda message: getattr(message, "request_id", None),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        yield loop
    finally:
        stop.set()
        await task
        await producer.stop()
        await consumer.stop()
