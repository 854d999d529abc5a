"""Latency counts from the intended send time, so a stalled responder cannot hide its stall."""

from __future__ import annotations

import asyncio
from pathlib import Path

from loadtests.play.driver import Driver
from loadtests.scenario.agencies import played_agencies
from loadtests.scenario.model import Scenario
from loadtests.scenario.parts import Period
from services.kafka.twin import MemoryBus
from services.wire.codec import Catalogue, Codec
from services.world.population import Population
from tests.support.inproc import DEMO_TOPOLOGY, SEED, demo_topology, registry_loop, run_config

STALL_S = 1.5


async def test_requests_sent_during_a_stall_report_the_stall_in_their_latency() -> None:
    bus = MemoryBus()
    scenario = Scenario(
        name="stall",
        topology=str(DEMO_TOPOLOGY),
        agencies=["province.001"],
        timeout_s=10,
        periods=[Period(name="p", duration_s=1.0, rate_per_s=200)],
    )
    agencies = played_agencies(scenario, demo_topology(), Path("stall.yaml"))
    driver = Driver(
        scenario,
        agencies,
        lambda _who: bus,
        Codec(Catalogue()),
        Population(SEED),
        run_config(scenario, "stall"),
    )
    async with registry_loop(bus) as loop:
        loop.consumer.pause()  # the responder stalls while the whole period is sent
        await driver.start()
        playing = asyncio.create_task(driver.play())
        await asyncio.sleep(STALL_S)
        loop.consumer.resume()
        phases = await playing
        await driver.stop()
    phase = phases[0]
    assert phase.answered == phase.sent > 100
    # The first request waited the whole stall, the last about STALL_S - 1 s: the median sits
    # half-way, far above the sub-millisecond service time of the in-memory twin.
    p50_s = phase.latency.get_value_at_percentile(50) / 1e6
    max_s = phase.latency.get_max_value() / 1e6
    assert max_s >= STALL_S - 0.05
    assert p50_s >= (STALL_S - 1.0) + 0.3
