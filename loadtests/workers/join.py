"""How a worker joins an announced run: waits for the cluster's topics, then claims its shares."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

from loadtests.stack.runtopics import WORK_RESULTS
from loadtests.workers.planfeed import PlanFeed
from loadtests.workers.sharebus import ShareHolder
from loadtests.workers.workplan import Done, Hello, PeriodDone, Progress, WorkPlan, insist
from services.kafka.bus import KafkaTransport
from services.kafka.transport import BrokerUnreachable, Producer, TransportError

__all__ = ["CLAIM_TRIES", "CLAIM_WAIT_S", "claim", "hello", "open_feed", "say"]

log = logging.getLogger("ndx.worker")
CLAIM_TRIES = 20
CLAIM_WAIT_S = 300.0  # a plan whose coordinator never says claim (it crashed) is left


async def open_feed(
    base: KafkaTransport, worker: str, run_id: str | None, wait_s: float
) -> PlanFeed:
    """The plans feed, started; a worker may start before the first run made the cluster's
    topics, so a missing topic is waited for up to `wait_s`, an unreachable broker is not."""
    deadline = time.monotonic() + wait_s
    while True:
        feed = PlanFeed(base, f"ndxsim.worker.{worker}.plans", run_id)
        try:
            await feed.start()
            return feed
        except TransportError as exc:
            if time.monotonic() > deadline or isinstance(exc, BrokerUnreachable):
                raise
            log.info("waiting for the cluster's topics: %s", exc)
            await asyncio.sleep(2.0)


async def say(out: Producer, message: Hello | Progress | PeriodDone | Done) -> None:
    data = message.model_dump_json().encode()
    await insist(lambda: out.send(WORK_RESULTS.name, data, key=message.run_id.encode()))


def hello(plan: WorkPlan, worker: str, shares: set[int], ready: bool = False) -> Hello:
    return Hello(
        run_id=plan.run_id,
        worker=worker,
        host=socket.gethostname(),
        pid=os.getpid(),
        shares=sorted(shares),
        ready=ready,
    )


async def claim(
    plan: WorkPlan, feed: PlanFeed, holder: ShareHolder, out: Producer, worker: str
) -> set[int] | None:
    """Say which shares it holds until the coordinator says claim; then commit them. None
    when the run started or ended without it (it joined too late) or never went ahead."""
    deadline = time.monotonic() + CLAIM_WAIT_S
    while time.monotonic() < deadline:
        await say(out, hello(plan, worker, set(holder.held)))
        with contextlib.suppress(TimeoutError):
            command = await asyncio.wait_for(feed.commands.get(), 1.0)
            if command.kind == "claim":
                break
            if command.kind in ("start", "end"):
                return None
    else:
        return None
    for _ in range(CLAIM_TRIES):
        claimed = await holder.claim()
        if claimed is not None:
            return claimed
        await asyncio.sleep(0.5)
    return set()
