"""On the in-memory twin, a slow registry with deaths and requests about the same citizens
interleaved, ministries' replicas, retries on and a rebalance: every answer judged right at the
version it was decided on, every transaction a judged row, and a wrong answer explains itself.
(The twin hands a consumer its topics in order, so deaths rarely overtake queued requests here;
the broker test in tests/integration/test_saturation_correctness.py drives that race.)"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loadtests.measure.ledger import PhaseLedger
from loadtests.measure.oprecord import OpRecord
from loadtests.play.driver import Driver
from loadtests.scenario.agencies import played_agencies
from loadtests.scenario.model import Scenario
from loadtests.scenario.parts import Errors, Mix, Period
from services.config.design import Design, Ministries, RegistryDesign, Requesters, ServiceTime
from services.kafka.twin import MemoryBus
from services.registry import handlers
from services.registry.__main__ import registry_app, run_registry
from services.registry.decisions import Registry, VerificationDecision, decide_verification
from services.wire.codec import Catalogue, Codec
from services.wire.messages import Outcome, VerificationRequested
from services.wire.topics import REGISTRY_GROUP, topics_for
from services.world.population import Population
from tests.support.inproc import AUDIT_KEY, DEMO_TOPOLOGY, SEED, demo_topology, run_config

SLOW = RegistryDesign(concurrency=2, service_time=ServiceTime(model="fixed", ms=4))  # 500/s


def scenario(requests: int, rate: float, mix: Mix) -> Scenario:
    return Scenario(
        name="race",
        topology=str(DEMO_TOPOLOGY),
        periods=[
            Period(name="p", duration_s=requests / rate, rate_per_s=rate, max_requests=requests)
        ],
        mix=mix,
        errors=Errors(wrong_name=0.05, wrong_birth_date=0.05, unknown_id=0.02),
    )


@contextlib.asynccontextmanager
async def slow_registry(bus: MemoryBus) -> AsyncIterator[None]:
    codec = Codec(Catalogue())
    app = registry_app(bus, demo_topology(), SEED, AUDIT_KEY, "registry-1", codec, SLOW)
    async with app as (loop, follower):
        stop = asyncio.Event()
        task = asyncio.create_task(run_registry(loop, follower, stop))
        try:
            yield
        finally:
            stop.set()
            await task


async def play(bus: MemoryBus, sc: Scenario, record: Path, rebalance_at_s: float) -> PhaseLedger:
    """One period through the slow registry; its group rebalances once, mid-period."""
    design = Design(
        name="race",
        requesters=Requesters(timeout_s=1.0, retries=2, retry_budget=0.5),
        ministries=Ministries(cache=True),  # a ministry's replica answers some, unversioned
    )
    agencies = played_agencies(sc, demo_topology(), Path("race.yaml"))
    config = run_config(sc, "race", design)
    driver = Driver(sc, agencies, lambda _who: bus, Codec(Catalogue()), Population(SEED), config)
    driver.hops.transactions = OpRecord(record, AUDIT_KEY)
    await bus.ensure_topics(topics_for(demo_topology().agencies()))
    await driver.start()
    try:  # the registry stops first: the twin's consumers then stop on a quiet bus
        async with slow_registry(bus):
            asyncio.get_running_loop().call_later(rebalance_at_s, bus.rebalance, REGISTRY_GROUP)
            phases = await driver.play()
    finally:
        await driver.stop()
    driver.hops.transactions.close()
    return phases[0]


async def test_deaths_and_requests_about_the_same_citizens_are_all_judged_right_and_recorded(
    tmp_path: Path,
) -> None:
    mix = Mix(verify=0.55, lookup=0.15, dossier=0.1, death=0.2)
    record = tmp_path / "transactions.parquet"
    phase = await play(MemoryBus(), scenario(800, 400.0, mix), record, 1.0)
    assert (phase.lost, phase.incorrect) == (0, 0), phase.examples_incorrect
    rows = pq.read_table(record).to_pylist()
    assert len(rows) == phase.sent
    answered = [r for r in rows if r["outcome"] != Outcome.TIMEOUT]
    assert all(r["correct"] for r in answered)
    assert all(r["correct"] is None for r in rows if r["outcome"] == Outcome.TIMEOUT)
    after_death = [r for r in answered if r["flow"] != "death" and r["citizen_version"]]
    assert after_death and all(r["expected"].startswith("DECEASED") for r in after_death)
    assert {r["expected"] for r in rows if r["flow"] == "death"} == {"DIED"}


async def test_a_wrong_answer_names_its_request_the_citizens_reference_the_version_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def careless(registry: Registry, req: VerificationRequested) -> VerificationDecision:
        """A registry that stopped comparing birth dates."""
        decided = decide_verification(registry, req)
        if decided.mismatched_fields == ("birth_date",):
            return VerificationDecision(Outcome.MATCH)
        return decided

    monkeypatch.setattr(handlers, "decide_verification", careless)
    mix = Mix(verify=0.9, lookup=0.1)
    record = tmp_path / "transactions.parquet"
    phase = await play(MemoryBus(), scenario(600, 400.0, mix), record, 0.5)
    assert phase.incorrect > 0 and phase.lost == 0
    assert 0 < len(phase.examples_incorrect) <= 10
    for ex in phase.examples_incorrect:
        assert ex.request_id.startswith("race:") and ex.agency and ex.flow == "verify"
        assert ex.citizen_ref is not None and re.fullmatch(r"[0-9a-f]{24}", ex.citizen_ref)
        assert (ex.expected, ex.got, ex.citizen_version) == ("MISMATCH birth_date", "MATCH", 0)
        assert "version 0" in ex.why and "wrong_birth_date" in ex.why
        assert ex.responder == "registry-1" and ex.attempts >= 1
        assert ex.stamps is not None and ex.stamps.registry_answered_us > 0
    report = phase.summary().model_dump_json()
    assert not re.search(r"\b\d{12}\b", report)  # no citizen id anywhere in the report
    rows = pq.read_table(record).to_pylist()
    wrong = [r for r in rows if r["correct"] is False]
    assert len(wrong) == phase.incorrect
    assert {r["expected"] for r in wrong} == {"MISMATCH birth_date"}
    assert {r["citizen_ref"] for r in wrong} >= {ex.citizen_ref for ex in phase.examples_incorrect}
