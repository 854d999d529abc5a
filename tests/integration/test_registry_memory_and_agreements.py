"""The registry remembers deaths across restarts and releases only agreed fields."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

import pytest

from loadtests.play.watchers import ChangeWatch
from loadtests.play.workload import SHAREABLE
from loadtests.stack.serviceproc import ServiceProcess, free_port
from services.kafka.bus import KafkaTransport
from services.requester.agency import AgencyClient
from services.wire.codec import Catalogue, Codec
from services.wire.messages import (
    CivilStatusRegistered,
    LookupRequested,
    SharingAudited,
    VerificationRequested,
)
from services.wire.topics import AUDIT, CIVIL
from services.world.population import Population
from services.world.topology import load_topology
from tests.support.inproc import DEMO_TOPOLOGY, REPO, SEED, registry_loop
from tests.support.topics import read_topic

NATIONAL = REPO / "loadtests" / "topologies" / "vn-2024.yaml"


def registry_process(bootstrap: str, logs: Path, name: str) -> ServiceProcess:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "NDX_TOPOLOGY": str(DEMO_TOPOLOGY),
        "NDX_SEED": str(SEED),
    }
    return ServiceProcess(name, "services.registry", env, free_port(), logs / f"{name}.log")


def verification(citizen_id: str, name: str, born: str) -> VerificationRequested:
    return VerificationRequested(
        uuid.uuid4().hex, "province.001", citizen_id, name, born, "public-service-dossier", "", 0
    )


async def test_a_death_reported_before_a_restart_is_still_known_after_it(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    transport = KafkaTransport(kafka_bootstrap)
    codec = Codec(Catalogue())
    citizen = Population(SEED).draw_living(random.Random(os.getpid()))
    first = registry_process(kafka_bootstrap, tmp_path, "registry-a")
    first.start()
    try:
        first.wait_ready("registry")
        province = AgencyClient("province.001", transport, codec, 30)
        watch = ChangeWatch(transport, codec, set())
        await province.start()
        await watch.start()
        try:
            check = verification(citizen.citizen_id, citizen.full_name, citizen.birth_date)
            assert (await province.request(check)).outcome == "MATCH"
            event = CivilStatusRegistered(
                uuid.uuid4().hex, citizen.citizen_id, "DEATH", "ministry.justice", 0
            )
            waiting = watch.expect(event.event_id)
            await province.producer.send(
                CIVIL.name, codec.encode(event), key=citizen.citizen_id.encode()
            )
            change = await watch.wait(waiting, 30)
            assert change is not None and change.change == "DIED"
            assert first.stop() == 0
            second = registry_process(kafka_bootstrap, tmp_path, "registry-b")
            second.start()
            try:
                second.wait_ready("registry")
                again = verification(citizen.citizen_id, citizen.full_name, citizen.birth_date)
                assert (await province.request(again)).outcome == "DECEASED"
            finally:
                assert second.stop() == 0
        finally:
            await watch.stop()
            await province.stop()
    finally:
        first.stop()


async def test_each_agreement_releases_exactly_its_fields_and_no_agreement_is_refused(
    kafka_bootstrap: str,
) -> None:
    topology = load_topology(NATIONAL)
    transport = KafkaTransport(kafka_bootstrap)
    codec = Codec(Catalogue())
    population = Population(SEED)
    rng = random.Random(11)
    refused_id = ""
    async with registry_loop(transport, topology):
        for ministry in (m for m in topology.ministries if "lookup" in m.roles):
            client = AgencyClient(ministry.id, transport, codec, 30)
            await client.start()
            try:
                for agreement in ministry.agreements:
                    citizen = population.draw_existing(rng)
                    ask = LookupRequested(
                        uuid.uuid4().hex,
                        ministry.id,
                        citizen.citizen_id,
                        agreement.purpose,
                        list(SHAREABLE),
                        0,
                    )
                    result = await client.request(ask)
                    data = dict(getattr(result.answer, "data", {}))
                    assert result.outcome in ("FOUND", "DECEASED")
                    assert set(data) == set(agreement.fields), (ministry.id, agreement.purpose)
                    for field in agreement.fields:
                        truth = getattr(citizen, field)
                        expected = str(truth).lower() if isinstance(truth, bool) else str(truth)
                        assert data[field] == expected
                if not refused_id:
                    citizen = population.draw_existing(rng)
                    refused_id = uuid.uuid4().hex
                    ask = LookupRequested(
                        refused_id, ministry.id, citizen.citizen_id, "curiosity", ["full_name"], 0
                    )
                    result = await client.request(ask)
                    assert result.outcome == "REFUSED"
                    assert getattr(result.answer, "data", None) == {}
            finally:
                await client.stop()
    audits = [codec.decode(r.value) for r in await read_topic(kafka_bootstrap, AUDIT.name)]
    refusals = [a for a in audits if isinstance(a, SharingAudited) and a.request_id == refused_id]
    assert [a.outcome for a in refusals] == ["REFUSED"]


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
