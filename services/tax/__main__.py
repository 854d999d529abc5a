"""Wiring of the tax authority's reconciler: platform shares in, bulk verifications out."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys

from services.config import Settings, SettingsError, load_settings
from services.kafka import KafkaProbe
from services.loop import Handler, ServiceLoop, admit_all
from services.process import metrics, run_service, service_context, setup_logging, watching
from services.tax.bulk import BulkClient
from services.tax.reconcile import admit_share, reconcile_share
from services.tax.tally import tally
from services.wire import SELLERS, TAX_GROUP, SellersShared
from services.world import RECONCILE_PURPOSE, TAX_AUTHORITY

log = logging.getLogger("ndx.tax")
SHARES_IN_HAND = 16  # platform shares reconciled at once; the client bounds chunks in flight
COMMIT_S = 0.5


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    ctx = service_context(settings)
    topology = ctx.topology
    if not topology.reconciles(TAX_AUTHORITY):
        raise SettingsError(
            f"NDX_TOPOLOGY: {ctx.config.topology_file} has no {TAX_AUTHORITY} with the "
            "reconcile_sellers role"
        )
    design = ctx.config.design.bulk
    transport = ctx.transport(TAX_AUTHORITY, "services")
    await ctx.prepare_topics(transport)
    name = ctx.name or "tax"
    codec = ctx.codec()
    producer = transport.producer(name)
    consumer = transport.consumer([SELLERS.name], name, TAX_GROUP)
    client = BulkClient(TAX_AUTHORITY, transport, producer, codec, design)
    verifier = ctx.credentials.verifier() if ctx.credentials is not None else None
    if ctx.credentials is not None and verifier is None:
        raise SettingsError("NDX_CREDENTIALS: the tax authority's credentials have no run_secret")
    await producer.start()
    try:
        await client.start()
        await consumer.start()
        metrics.serve(settings.metrics_host, settings.metrics_port)
        platforms = frozenset(p.id for p in topology.platforms)
        handlers: dict[type, Handler] = {
            SellersShared: functools.partial(
                reconcile_share,
                client=client,
                platforms=platforms,
                purpose=RECONCILE_PURPOSE,
                chunk=design.chunk,
            )
        }
        loop = ServiceLoop(
            "tax",
            TAX_GROUP,
            consumer,
            producer,
            codec,
            handlers,
            request_id=lambda m: getattr(m, "share_id", None),
            tally=functools.partial(tally, lane=design.lane, requester=TAX_AUTHORITY),
            concurrent=True,
            window=SHARES_IN_HAND,
            commit_interval_s=COMMIT_S,
            admit=admit_all if verifier is None else functools.partial(admit_share, verifier),
        )
        log.info("%s reconciling platform shares on the %s lane", name, design.lane)
        probe = KafkaProbe(ctx.bootstrap, name, settings.connect_timeout_s, transport.security)
        async with watching(probe, loop.readiness, ctx.bootstrap):
            await loop.run(stop)
    finally:
        await consumer.stop()
        await client.stop()
        await producer.stop()


def main() -> int:
    setup_logging("tax")
    return run_service("tax", lambda stop: serve(load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
