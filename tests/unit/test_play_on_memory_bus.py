"""The same scenario machinery runs on the in-memory twin: every request accounted, all correct."""

from __future__ import annotations

from pathlib import Path

from loadtests.measure.ledger import totals
from loadtests.play.driver import Driver
from loadtests.scenario.agencies import played_agencies
from loadtests.scenario.model import Scenario
from loadtests.scenario.parts import Errors, Mix, Period
from services.kafka.twin import MemoryBus
from services.wire.codec import Catalogue, Codec
from services.wire.topics import topics_for
from services.world.population import Population
from tests.support.inproc import DEMO_TOPOLOGY, SEED, demo_topology, registry_loop, run_config


def scenario(requests: int, errors: Errors, mix: Mix, timeout_s: float = 5.0) -> Scenario:
    return Scenario(
        name="unit",
        topology=str(DEMO_TOPOLOGY),
        timeout_s=timeout_s,
        periods=[
            Period(name="p", duration_s=2, rate_per_s=5000, max_requests=requests, online_share=0.3)
        ],
        mix=mix,
        errors=errors,
    )


def driver_for(sc: Scenario, bus: MemoryBus) -> Driver:
    agencies = played_agencies(sc, demo_topology(), Path("unit.yaml"))
    config = run_config(sc, "unit")
    return Driver(sc, agencies, lambda _who: bus, Codec(Catalogue()), Population(SEED), config)


async def test_all_four_flows_are_answered_correctly_with_every_verify_outcome() -> None:
    bus = MemoryBus()
    errors = Errors(
        wrong_name=0.1,
        wrong_birth_date=0.1,
        unknown_id=0.1,
        invalid_id=0.05,
        no_legal_basis=0.05,
        unauthorised_lookup=0.2,
    )
    sc = scenario(3000, errors, Mix(verify=0.6, lookup=0.2, dossier=0.15, death=0.05))
    driver = driver_for(sc, bus)
    async with registry_loop(bus):
        await driver.start()
        phases = await driver.play()
        await driver.stop()
    total = totals(phases)
    assert total.sent == 3000
    assert (total.lost, total.incorrect, total.timed_out) == (0, 0, 0), phases[0].summary()
    outcomes = set(phases[0].outcomes)
    assert {"MATCH", "MISMATCH", "NOT_FOUND", "DECEASED", "REJECTED"} <= outcomes
    assert {"FOUND", "REFUSED", "DIED"} <= outcomes
    assert set(phases[0].flows) == {"verify", "lookup", "dossier", "death"}
    online = phases[0].dossiers["ONLINE"] / sum(phases[0].dossiers.values())
    assert abs(online - 0.3) < 0.005
    assert phases[0].change_deliveries > 0


async def test_requests_nobody_answers_end_as_timeouts_not_losses() -> None:
    bus = MemoryBus()
    await bus.ensure_topics(topics_for(demo_topology().agencies()))
    driver = driver_for(scenario(50, Errors(), Mix(), timeout_s=0.2), bus)
    await driver.start()
    phases = await driver.play()
    await driver.stop()
    total = totals(phases)
    assert (total.sent, total.timed_out, total.answered, total.lost) == (50, 50, 0, 0)
    assert total.latency_ms.p50 >= 200
