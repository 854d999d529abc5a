"""The start-up both requester services share: settings, clients, metrics, background load."""

from __future__ import annotations

import asyncio
import logging

from services.registry.population import Population
from services.shared import metrics
from services.shared.agencyhost import AgencyHost
from services.shared.codec import Catalogue, Codec
from services.shared.kafka import KafkaTransport
from services.shared.kafkaprobe import KafkaProbe
from services.shared.readiness import Readiness, watching
from services.shared.settings import Settings, SettingsError, bootstrap_of, topology_path
from services.shared.topics import topics_for
from services.shared.topology import load_topology

log = logging.getLogger("ndx.host")


async def host_agencies(kind: str, settings: Settings, stop: asyncio.Event) -> None:
    """Run every agency of `kind` (province or ministry) in the topology, or those listed."""
    topology = load_topology(topology_path(settings))
    listed = [a.strip() for a in settings.agencies.split(",") if a.strip()]
    mine = [a for a in topology.agencies() if a.startswith(kind + ".")]
    if unknown := [a for a in listed if a not in mine]:
        raise SettingsError(
            f"NDX_AGENCIES: {', '.join(unknown)} not {kind} agencies of the topology "
            f"{topology_path(settings)}"
        )
    ours = listed or mine
    codes = {p.id: p.code for p in topology.provinces}
    transport = KafkaTransport(
        bootstrap_of(settings), settings.replication_factor, settings.connect_timeout_s
    )
    await transport.ensure_topics(topics_for(topology.agencies()))
    host = AgencyHost(
        ours,
        transport,
        Codec(Catalogue()),
        Population(settings.seed),
        settings.request_timeout_s,
        codes.get,
        settings.seed,
    )
    await host.start()
    metrics.serve(settings.metrics_host, settings.metrics_port)
    readiness = Readiness(kind)
    readiness.mark_started()
    log.info("%s: %d agencies at %.1f requests/s each", kind, len(ours), settings.rate_per_agency)
    probe = KafkaProbe(transport.bootstrap, kind, settings.connect_timeout_s)
    try:
        async with watching(probe, readiness, transport.bootstrap):
            await host.run(settings.rate_per_agency, stop, readiness.hold)
    finally:
        await host.stop()
