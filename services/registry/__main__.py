"""Wiring of the registry service: settings, Kafka clients, overlay rebuild, the answer loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections.abc import AsyncIterator

from services.registry.agreements import LegalBasis
from services.registry.changes import ChangeFollower
from services.registry.handlers import (
    Registry,
    handle_civil_event,
    handle_lookup,
    handle_verification,
)
from services.registry.overlay import Overlay
from services.registry.population import Population
from services.registry.tally import tally
from services.shared import auditkey, metrics
from services.shared.app import run_service, setup_logging
from services.shared.codec import Catalogue, Codec
from services.shared.kafka import KafkaTransport
from services.shared.kafkaprobe import KafkaProbe
from services.shared.messages import CivilStatusRegistered, LookupRequested, VerificationRequested
from services.shared.readiness import watching
from services.shared.runtime import ServiceLoop
from services.shared.settings import (
    Settings,
    SettingsError,
    bootstrap_of,
    load_settings,
    topology_path,
    writer_versions,
)
from services.shared.topics import CHANGES, CIVIL, LOOKUP, VERIFY, topics_for
from services.shared.topology import Topology, load_topology
from services.shared.transport import Transport

log = logging.getLogger("ndx.registry")
GROUP = "ndx.registry"


@contextlib.asynccontextmanager
async def registry_app(
    transport: Transport, topology: Topology, seed: int, audit_key: bytes, name: str,
    codec: Codec | None = None,
) -> AsyncIterator[tuple[ServiceLoop, ChangeFollower]]:  # fmt: skip
    """A registry with its overlay rebuilt and its clients started; closed on exit."""
    await transport.ensure_topics(topics_for(topology.agencies()))
    codec = codec or Codec(Catalogue())
    registry = Registry(Population(seed), Overlay(), name, audit_key, LegalBasis(topology))
    follower = ChangeFollower(
        transport.consumer([CHANGES.name], client_id=f"{name}.changes", from_beginning=True),
        codec,
        registry.overlay,
    )
    producer = transport.producer(name)
    consumer = transport.consumer([VERIFY.name, LOOKUP.name, CIVIL.name], name, GROUP)
    async with contextlib.AsyncExitStack() as stack:
        for client in (follower.consumer, producer):
            await client.start()
            stack.push_async_callback(client.stop)
        replayed = await follower.catch_up()
        log.info("%s: overlay rebuilt from %d change(s)", name, replayed)
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        stack.push_async_callback(producer.flush)
        handlers = {
            VerificationRequested: functools.partial(handle_verification, registry=registry),
            LookupRequested: functools.partial(handle_lookup, registry=registry),
            CivilStatusRegistered: functools.partial(handle_civil_event, registry=registry),
        }
        loop = ServiceLoop(
            "registry",
            GROUP,
            consumer,
            producer,
            codec,
            handlers,
            request_id=_request_id,
            tally=tally,
        )
        yield loop, follower


def _request_id(message: object) -> str | None:
    """What makes a redelivered message the same one: a request id, or a civil event's id."""
    return getattr(message, "request_id", None) or getattr(message, "event_id", None)


async def run_registry(loop: ServiceLoop, follower: ChangeFollower, stop: asyncio.Event) -> None:
    """Answer requests and follow changes until stopped."""
    following = asyncio.create_task(follower.follow(stop))
    try:
        await loop.run(stop)
    finally:
        stop.set()
        await following


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    key = auditkey.audit_key(settings)
    transport = KafkaTransport(
        bootstrap_of(settings), settings.replication_factor, settings.connect_timeout_s
    )
    topology = load_topology(topology_path(settings))
    name = settings.instance or "registry"
    try:
        codec = Codec(Catalogue(), writer_versions=writer_versions(settings))
    except KeyError as exc:
        raise SettingsError(f"NDX_SCHEMA_PINS: no such schema version {exc}") from None
    app = registry_app(transport, topology, settings.seed, key, name, codec)
    probe = KafkaProbe(bootstrap_of(settings), name, settings.connect_timeout_s)
    async with app as (loop, follower), watching(probe, loop.readiness, bootstrap_of(settings)):
        metrics.serve(settings.metrics_host, settings.metrics_port)
        log.info("%s answering on %s", name, bootstrap_of(settings))
        await run_registry(loop, follower, stop)
    log.info("%s stopped after %d records", name, loop.handled)


def main() -> int:
    setup_logging("registry")
    return run_service("registry", lambda stop: serve(load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
