"""Wiring of the monitoring service: it tallies dossiers and audit records into metrics."""

from __future__ import annotations

import asyncio
import logging
import sys

from services.monitor.handlers import handle_audit, handle_dossier
from services.monitor.tally import tally
from services.shared import metrics
from services.shared.app import run_service, setup_logging
from services.shared.codec import Catalogue, Codec
from services.shared.kafka import KafkaTransport
from services.shared.kafkaprobe import KafkaProbe
from services.shared.messages import DossierSubmitted, SharingAudited
from services.shared.readiness import watching
from services.shared.runtime import Handler, ServiceLoop
from services.shared.settings import Settings, bootstrap_of, load_settings, topology_path
from services.shared.topics import AUDIT, DOSSIERS, topics_for
from services.shared.topology import load_topology

log = logging.getLogger("ndx.monitor")
GROUP = "ndx.monitor"


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    transport = KafkaTransport(
        bootstrap_of(settings), settings.replication_factor, settings.connect_timeout_s
    )
    await transport.ensure_topics(topics_for(load_topology(topology_path(settings)).agencies()))
    name = settings.instance or "monitor"
    group = f"{GROUP}.{name}"  # each monitor tallies everything; runs beside a stack never split
    producer = transport.producer(name)
    consumer = transport.consumer([DOSSIERS.name, AUDIT.name], name, group)
    await producer.start()
    try:
        await consumer.start()
        metrics.serve(settings.metrics_host, settings.metrics_port)
        handlers: dict[type, Handler] = {
            DossierSubmitted: handle_dossier,
            SharingAudited: handle_audit,
        }
        loop = ServiceLoop(
            "monitor", group, consumer, producer, Codec(Catalogue()), handlers, tally=tally
        )
        log.info("%s tallying dossiers and audit records", name)
        probe = KafkaProbe(transport.bootstrap, name, settings.connect_timeout_s)
        async with watching(probe, loop.readiness, transport.bootstrap):
            await loop.run(stop)
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> int:
    setup_logging("monitor")
    return run_service("monitor", lambda stop: serve(load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
