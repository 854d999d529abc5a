"""Wiring of the monitoring service: it tallies dossiers and audit records into metrics."""

from __future__ import annotations

import asyncio
import logging
import sys

from services.config import Settings, load_settings
from services.kafka import KafkaProbe
from services.loop import Handler, ServiceLoop
from services.monitor.handlers import handle_audit, handle_dossier
from services.monitor.tally import tally
from services.process import metrics, run_service, service_context, setup_logging, watching
from services.security import MONITOR
from services.wire import AUDIT, DOSSIERS, MONITOR_GROUP_PREFIX, DossierSubmitted, SharingAudited

log = logging.getLogger("ndx.monitor")
MONITOR_COMMIT_S = 0.5  # tallies only: a re-read after a crash repeats at most this much


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    ctx = service_context(settings)
    transport = ctx.transport(MONITOR)
    await ctx.prepare_topics(transport)
    name = ctx.name or "monitor"
    group = MONITOR_GROUP_PREFIX + name  # each monitor tallies everything; never split with another
    producer = transport.producer(name)
    consumer = transport.off_path().consumer([DOSSIERS.name, AUDIT.name], name, group)
    await producer.start()
    try:
        await consumer.start()
        metrics.serve(settings.metrics_host, settings.metrics_port)
        handlers: dict[type, Handler] = {
            DossierSubmitted: handle_dossier,
            SharingAudited: handle_audit,
        }
        loop = ServiceLoop(
            "monitor",
            group,
            consumer,
            producer,
            ctx.codec(),
            handlers,
            tally=tally,
            commit_interval_s=MONITOR_COMMIT_S,
        )
        log.info("%s tallying dossiers and audit records", name)
        probe = KafkaProbe(ctx.bootstrap, name, settings.connect_timeout_s, transport.security)
        async with watching(probe, loop.readiness, ctx.bootstrap):
            await loop.run(stop)
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> int:
    setup_logging("monitor")
    return run_service("monitor", lambda stop: serve(load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
