"""Wiring of the registry service: settings, Kafka clients, overlay rebuild, the answer loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from services.config import RegistryDesign, Settings, SettingsError, load_settings
from services.kafka import KafkaProbe, Transport
from services.loop import Handler, ServiceLoop, admit_all
from services.process import (
    ServiceContext,
    metrics,
    run_service,
    service_context,
    setup_logging,
    watching,
)
from services.registry.agreements import LegalBasis
from services.registry.changes import ChangeFollower
from services.registry.control import RunWatch
from services.registry.decisions import Registry
from services.registry.handlers import (
    handle_bulk_verification,
    handle_civil_event,
    handle_lookup,
    handle_verification,
)
from services.registry.identity import admit
from services.registry.overlay import Overlay
from services.registry.sessions import end_session, stand_aside
from services.registry.tally import tally
from services.registry.worktime import Database
from services.security import REGISTRY, Verifier
from services.wire import (
    BULK,
    BULK_GROUP,
    CHANGES,
    CIVIL,
    LOOKUP,
    REGISTRY_GROUP,
    VERIFY,
    VERIFY_OUTCOMES,
    BulkVerificationRequested,
    Catalogue,
    CivilStatusRegistered,
    Codec,
    LookupRequested,
    TopicSpec,
    VerificationRequested,
    topics_for,
)
from services.world import Population, Topology

log = logging.getLogger("ndx.registry")
Lane = Literal["interactive", "bulk"]


@contextlib.asynccontextmanager
async def registry_app(
    transport: Transport,
    topology: Topology,
    seed: int,
    audit_key: bytes,
    name: str,
    codec: Codec | None = None,
    design: RegistryDesign | None = None,
    topics: Sequence[TopicSpec] | None = None,
    verifier: Verifier | None = None,
    lane: Lane = "interactive",
) -> AsyncIterator[tuple[ServiceLoop, ChangeFollower]]:
    """A registry with its overlay rebuilt and its clients started; closed on exit. With a
    verifier (a secured run) it answers and replays only records signed by who they name. An
    instance of the bulk lane answers only bulk requests, on their own topic and group."""
    design = design or RegistryDesign()
    if topics is None:
        topics = topics_for(topology.agencies(), bulk_by=topology.reconcilers())
    if topics:  # a secured cluster's admin made them; a bootstrap passes none
        await transport.ensure_topics(topics)
    codec = codec or Codec(Catalogue())
    database = Database(design.service_time, design.concurrency, random.Random(f"{seed}:{name}"))
    registry = Registry(
        Population(seed), Overlay(), name, audit_key, LegalBasis(topology), database
    )
    follower = ChangeFollower(
        transport.consumer([CHANGES.name], client_id=f"{name}.changes", from_beginning=True),
        codec,
        registry.overlay,
        verifier,
    )
    producer = transport.producer(name)
    bulk = functools.partial(handle_bulk_verification, registry=registry)
    for outcome in VERIFY_OUTCOMES:  # at 0 from the start: a first bulk item is an increase
        metrics.bulk_items("provider", "separate" if lane == "bulk" else "shared", outcome)
    if lane == "bulk":
        consumer = transport.consumer([BULK.name], name, BULK_GROUP)
        handlers: dict[type, Handler] = {BulkVerificationRequested: bulk}
    else:
        consumer = transport.consumer([VERIFY.name, LOOKUP.name, CIVIL.name], name, REGISTRY_GROUP)
        handlers = {
            VerificationRequested: functools.partial(handle_verification, registry=registry),
            LookupRequested: functools.partial(handle_lookup, registry=registry),
            CivilStatusRegistered: functools.partial(handle_civil_event, registry=registry),
            BulkVerificationRequested: bulk,  # the shared lane: bulk beside the counters
        }
    async with contextlib.AsyncExitStack() as stack:
        for client in (follower.consumer, producer):
            await client.start()
            stack.push_async_callback(client.stop)
        replayed = await follower.catch_up()
        log.info("%s: overlay rebuilt from %d change(s)", name, replayed)
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        stack.push_async_callback(producer.flush)
        loop = ServiceLoop(
            "registry",
            BULK_GROUP if lane == "bulk" else REGISTRY_GROUP,
            consumer,
            producer,
            codec,
            handlers,
            request_id=_request_id,
            tally=functools.partial(tally, lane="separate" if lane == "bulk" else "shared"),
            batch=design.batch_size,
            concurrent=not database.idle,
            commit_interval_s=design.commit_interval_ms / 1000,
            window=None if database.idle else design.window(),
            ordered=(CIVIL.name,),  # one citizen's civil events in the order registered
            admit=admit_all if verifier is None else functools.partial(admit, verifier),
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
    ctx = service_context(settings)
    name = ctx.name or "registry"
    transport = ctx.transport(REGISTRY, "registry")
    await ctx.prepare_topics(transport)
    watch = RunWatch(transport, f"{name}.control", ctx.config.fingerprint)
    await watch.start()
    metrics.serve(settings.metrics_host, settings.metrics_port)
    try:
        while not stop.is_set():
            if not await stand_aside(watch, stop, name, ctx.config.fingerprint):
                break
            session = asyncio.Event()  # ends with the service, or when a foreign run begins
            guard = asyncio.create_task(end_session(watch, stop, session))
            try:
                await _answer(ctx, transport, name, session)
            finally:
                guard.cancel()
    finally:
        await watch.stop()


async def _answer(
    ctx: ServiceContext, transport: Transport, name: str, session: asyncio.Event
) -> None:
    app = registry_app(
        transport,
        ctx.topology,
        ctx.config.seed,
        ctx.audit_key,
        name,
        ctx.codec(),
        ctx.config.design.registry,
        (),
        _verifier(ctx),
        ctx.settings.lane,
    )
    probe = KafkaProbe(ctx.bootstrap, name, ctx.settings.connect_timeout_s, ctx.security(REGISTRY))
    async with app as (loop, follower), watching(probe, loop.readiness, ctx.bootstrap):
        log.info("%s answering on %s (run %s)", name, ctx.bootstrap, ctx.config.run_id)
        await run_registry(loop, follower, session)
    log.info("%s stopped answering after %d records", name, loop.handled)


def _verifier(ctx: ServiceContext) -> Verifier | None:
    """A secured run's registry checks every signature: it must hold the run secret."""
    if ctx.credentials is None:
        return None
    if (verifier := ctx.credentials.verifier()) is None:
        raise SettingsError("NDX_CREDENTIALS: the registry's credentials file has no run_secret")
    return verifier


def main() -> int:
    setup_logging("registry")
    return run_service("registry", lambda stop: serve(load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
