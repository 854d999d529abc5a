"""Wiring of the tax authority's reconciler: platform shares in, bulk verifications out."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections.abc import AsyncIterator

from services.config import Bulk, Settings, SettingsError, load_settings
from services.kafka import KafkaProbe, Transport
from services.loop import Handler, ServiceLoop, admit_all
from services.process import metrics, run_service, service_context, setup_logging, watching
from services.security import Verifier
from services.tax.bulk import BulkClient
from services.tax.reconcile import admit_share, reconcile_share
from services.tax.tally import tally, zero
from services.wire import SELLERS, TAX_GROUP, Codec, SellersShared
from services.world import RECONCILE_PURPOSE, TAX_AUTHORITY, Topology

log = logging.getLogger("ndx.tax")
SHARES_IN_HAND = 16  # platform shares reconciled at once; the client bounds chunks in flight
COMMIT_S = 0.5


@contextlib.asynccontextmanager
async def tax_app(
    transport: Transport,
    topology: Topology,
    codec: Codec,
    design: Bulk,
    name: str = "tax",
    verifier: Verifier | None = None,
) -> AsyncIterator[ServiceLoop]:
    """The reconciler's loop with its clients started; closed on exit. With a verifier (a
    secured run) it reconciles only shares signed by the platform they name."""
    if not topology.reconciles(TAX_AUTHORITY):
        raise SettingsError(f"the topology has no {TAX_AUTHORITY} with the reconcile_sellers role")
    producer = transport.producer(name)
    consumer = transport.consumer([SELLERS.name], name, TAX_GROUP)
    client = BulkClient(TAX_AUTHORITY, transport, producer, codec, design)
    platforms = frozenset(p.id for p in topology.platforms)
    zero(design.lane, TAX_AUTHORITY)
    handlers: dict[type, Handler] = {
        SellersShared: functools.partial(
            reconcile_share,
            client=client,
            platforms=platforms,
            purpose=RECONCILE_PURPOSE,
            chunk=design.chunk,
        )
    }
    async with contextlib.AsyncExitStack() as stack:
        for started in (producer, client, consumer):
            await started.start()
            stack.push_async_callback(started.stop)
        yield ServiceLoop(
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


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    ctx = service_context(settings)
    if not ctx.topology.reconciles(TAX_AUTHORITY):
        raise SettingsError(
            f"NDX_TOPOLOGY: {ctx.config.topology_file} has no {TAX_AUTHORITY} with the "
            "reconcile_sellers role"
        )
    verifier = ctx.credentials.verifier() if ctx.credentials is not None else None
    if ctx.credentials is not None and verifier is None:
        raise SettingsError("NDX_CREDENTIALS: the tax authority's credentials have no run_secret")
    design = ctx.config.design.bulk
    transport = ctx.transport(TAX_AUTHORITY, "services")
    await ctx.prepare_topics(transport)
    name = ctx.name or "tax"
    app = tax_app(transport, ctx.topology, ctx.codec(), design, name, verifier)
    async with app as loop:
        metrics.serve(settings.metrics_host, settings.metrics_port)
        log.info("%s reconciling platform shares on the %s lane", name, design.lane)
        probe = KafkaProbe(ctx.bootstrap, name, settings.connect_timeout_s, transport.security)
        async with watching(probe, loop.readiness, ctx.bootstrap):
            await loop.run(stop)


def main() -> int:
    setup_logging("tax")
    return run_service("tax", lambda stop: serve(load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
