"""Wiring of the registry service: settings, Kafka clients, overlay rebuild, the answer loop."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys

from loadtests.topology import load_topology
from services.registry.handlers import Registry, handle_verification
from services.registry.overlay import Overlay
from services.registry.population import Population
from services.shared import metrics
from services.shared.app import run_service, setup_logging
from services.shared.codec import Catalogue, Codec
from services.shared.kafka import KafkaTransport
from services.shared.messages import VerificationRequested
from services.shared.runtime import ServiceLoop
from services.shared.settings import Settings, bootstrap_of, load_settings, topology_path
from services.shared.topics import LOOKUP, VERIFY, topics_for

log = logging.getLogger("ndx.registry")
GROUP = "ndx.registry"


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    topology = load_topology(topology_path(settings))
    agencies = topology.agencies()
    transport = KafkaTransport(
        bootstrap_of(settings), settings.replication_factor, settings.connect_timeout_s
    )
    await transport.ensure_topics(topics_for(agencies))
    name = settings.instance or "registry"
    registry = Registry(
        population=Population(settings.seed),
        overlay=Overlay(),
        responder=name,
        audit_key=settings.audit_key.encode(),
        requesters=frozenset(agencies),
    )
    producer = transport.producer(name)
    consumer = transport.consumer([VERIFY.name, LOOKUP.name], client_id=name, group_id=GROUP)
    await producer.start()
    try:
        await consumer.start()
    except BaseException:
        await producer.stop()
        raise
    metrics.serve(settings.metrics_host, settings.metrics_port)
    loop = ServiceLoop(
        "registry",
        GROUP,
        consumer,
        producer,
        Codec(Catalogue()),
        {VerificationRequested: functools.partial(handle_verification, registry=registry)},
        request_id=lambda message: getattr(message, "request_id", None),
    )
    log.info("%s answering on %s", name, bootstrap_of(settings))
    try:
        await loop.run(stop)
    finally:
        await producer.flush()
        await consumer.stop()
        await producer.stop()
        log.info("%s stopped after %d records", name, loop.handled)


def main() -> int:
    setup_logging("registry")
    return run_service("registry", lambda stop: serve(load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
