"""The same scenario machinery runs on the in-memory twin: every request accounted, all correct."""

from __future__ import annotations

from pathlib import Path

from loadtests.driver import Driver, PlayedAgency
from loadtests.ledger import totals
from loadtests.scenario import Errors, Period, Scenario
from services.registry.population import Population
from services.shared.codec import Catalogue, Codec
from services.shared.membus import MemoryBus
from tests.support.inproc import SEED, registry_loop

AGENCIES = [
    PlayedAgency("province.001", 0.5, "001"),
    PlayedAgency("province.079", 0.3, "079"),
    PlayedAgency("ministry.vss", 0.2, None),
]


def scenario(requests: int, errors: Errors, timeout_s: float = 5.0) -> Scenario:
    return Scenario(
        name="unit",
        topology=str(Path("loadtests/topologies/demo.yaml")),
        timeout_s=timeout_s,
        periods=[Period(name="p", duration_s=30, rate_per_s=2000, max_requests=requests)],
        errors=errors,
    )


async def test_every_verification_is_answered_correctly_with_all_outcomes() -> None:
    bus = MemoryBus()
    errors = Errors(wrong_name=0.1, wrong_birth_date=0.1, unknown_id=0.1, invalid_id=0.1)
    driver = Driver(
        scenario(2000, errors), AGENCIES, bus, Codec(Catalogue()), Population(SEED), SEED, "unit"
    )
    async with registry_loop(bus, [a.agency for a in AGENCIES]):
        await driver.start()
        phases = await driver.play()
        await driver.stop()
    total = totals(phases)
    assert total["sent"] == 2000
    assert total["answered"] == 2000
    assert (total["lost"], total["incorrect"], total["timed_out"]) == (0, 0, 0)
    assert set(phases[0].outcomes) == {"MATCH", "MISMATCH", "NOT_FOUND", "DECEASED", "REJECTED"}


async def test_requests_nobody_answers_end_as_timeouts_not_losses() -> None:
    bus = MemoryBus()
    from services.shared.topics import topics_for

    await bus.ensure_topics(topics_for([a.agency for a in AGENCIES]))
    driver = Driver(
        scenario(50, Errors(), timeout_s=0.2),
        AGENCIES,
        bus,
        Codec(Catalogue()),
        Population(SEED),
        SEED,
        "unit",
    )
    await driver.start()
    phases = await driver.play()
    await driver.stop()
    total = totals(phases)
    assert (total["sent"], total["timed_out"], total["answered"], total["lost"]) == (50, 50, 0, 0)
    assert total["latency_ms"]["p50"] >= 200
