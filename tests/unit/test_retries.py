"""Requesters resend on timeout with the same request id; duplicates count as late, not twice."""

from __future__ import annotations

import asyncio
import random
import uuid

from services.kafka.twin import MemoryBus
from services.requester.agency import AgencyClient
from services.requester.pending import RetryPolicy
from services.wire.codec import Catalogue, Codec
from services.wire.messages import Outcome, VerificationRequested
from services.world.population import Population
from tests.support.clock import FakeClock
from tests.support.inproc import SEED, registry_loop
from tests.support.waiting import wait_for_async

AGENCY = "province.001"


def requests(n: int) -> list[VerificationRequested]:
    pop, rng = Population(SEED), random.Random(3)
    out = []
    for _ in range(n):
        c = pop.draw_living(rng)
        out.append(
            VerificationRequested(
                uuid.uuid4().hex,
                AGENCY,
                c.citizen_id,
                c.full_name,
                c.birth_date,
                "public-service-dossier",
                "",
                0,
            )
        )
    return out


async def test_a_stalled_registry_is_outlasted_by_retries_and_every_request_answered_once() -> None:
    bus = MemoryBus()
    async with registry_loop(bus) as loop:
        policy = RetryPolicy(retries=3, backoff=2.0, budget_share=1.0)
        clock = FakeClock()
        client = AgencyClient(
            AGENCY, bus, Codec(Catalogue()), timeout_s=0.3, policy=policy, clock=clock
        )
        await client.start()
        loop.consumer.pause()
        pending = [asyncio.create_task(client.request(r)) for r in requests(40)]
        await clock.run_for(0.8)  # past the first deadline (0.3 s), before the second (0.9 s)
        loop.consumer.resume()  # the registry answers on real time; the requesters' clock stands
        results = await asyncio.gather(*pending)
        await wait_for_async(lambda: client.late_answers >= 40, 10, "the duplicate answers")
        await client.stop()
    assert [r.outcome for r in results] == [Outcome.MATCH] * 40
    assert all(r.attempts == 2 for r in results)
    assert client.retries == 40
    assert loop.dedup.get(results[0].answer.request_id) is not None  # type: ignore[union-attr]
    assert client.late_answers == 40  # the resent copies were answered from memory, then ignored


async def test_the_retry_budget_stops_a_retry_storm() -> None:
    bus = MemoryBus()
    async with registry_loop(bus) as loop:
        policy = RetryPolicy(retries=5, backoff=1.0, budget_share=0.0, budget_floor=10)
        clock = FakeClock()
        client = AgencyClient(
            AGENCY, bus, Codec(Catalogue()), timeout_s=0.1, policy=policy, clock=clock
        )
        await client.start()
        loop.consumer.pause()
        played = asyncio.gather(*(client.request(r) for r in requests(30)))
        await clock.advance_until(played.done, limit_s=5.0)
        results = await played
        await client.stop()
    assert client.retries == 10
    assert [r.outcome for r in results] == [Outcome.TIMEOUT] * 30
