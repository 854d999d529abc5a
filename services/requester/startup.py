"""The start-up both requester services share: settings, clients, metrics, background load."""

from __future__ import annotations

import asyncio
import logging

from services.config import Settings, SettingsError
from services.kafka import KafkaProbe
from services.process import Readiness, metrics, service_context, watching
from services.requester.agency import AgencyClient
from services.requester.host import AgencyHost
from services.requester.pending import RetryPolicy
from services.world import Population

log = logging.getLogger("ndx.host")


async def host_agencies(kind: str, settings: Settings, stop: asyncio.Event) -> None:
    """Run every agency of `kind` (province or ministry) in the topology, or those listed."""
    ctx = service_context(settings)
    topology = ctx.topology
    listed = [a.strip() for a in settings.agencies.split(",") if a.strip()]
    mine = [a for a in topology.agencies() if a.startswith(kind + ".")]
    if unknown := [a for a in listed if a not in mine]:
        raise SettingsError(
            f"NDX_AGENCIES: {', '.join(unknown)} not {kind} agencies of the topology "
            f"{ctx.config.topology_file}"
        )
    ours = listed or mine
    codes = {p.id: p.code for p in topology.provinces}
    requesters, codec = ctx.config.design.requesters, ctx.codec()
    clients = [
        AgencyClient(
            a, ctx.transport(a, "agencies"), codec, requesters.timeout_s, RetryPolicy.of(requesters)
        )
        for a in ours
    ]
    if clients:
        await ctx.prepare_topics(ctx.transport(ours[0], "agencies"))
    host = AgencyHost(clients, Population(ctx.config.seed), codes.get, ctx.config.seed)
    await host.start()
    metrics.serve(settings.metrics_host, settings.metrics_port)
    readiness = Readiness(kind)
    readiness.mark_started()
    log.info("%s: %d agencies at %.1f requests/s each", kind, len(ours), settings.rate_per_agency)
    security = ctx.security(ours[0]) if ours else None
    probe = KafkaProbe(ctx.bootstrap, kind, settings.connect_timeout_s, security)
    try:
        async with watching(probe, readiness, ctx.bootstrap):
            await host.run(settings.rate_per_agency, stop, readiness.hold)
    finally:
        await host.stop()
