"""A real registry process on a secured broker answers an agency only for what that agency
signed: a request in another agency's name is refused and counted, never answered in the
victim's name; agreements still hold; a change the registry did not sign is never replayed."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loadtests.cluster.provision import write_process_files
from loadtests.stack.serviceproc import ServiceProcess, free_port
from services.kafka.bus import KafkaTransport
from services.requester.agency import AgencyClient
from services.security.access import REGISTRY
from services.wire.codec import Catalogue, Codec
from services.wire.messages import CitizenChanged, LookupRequested, VerificationRequested
from services.wire.topics import CHANGES, DLQ, VERIFY, reply_topic
from services.world.population import Population
from services.world.topology import load_topology
from tests.support.inproc import DEMO_TOPOLOGY, REPO, SEED
from tests.support.processes import sample
from tests.support.secured import SecuredStack, secured_stack
from tests.support.topics import read_topic
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
CODEC = Codec(Catalogue())
WITHIN_S = 60.0


@dataclass(frozen=True)
class World:
    stack: SecuredStack
    secrets: dict[str, Path]
    logs: Path

    def registry(self, name: str) -> ServiceProcess:
        """The registry as an OS process, with only its own credentials file."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.stack.bootstrap,
            "NDX_TOPOLOGY": str(DEMO_TOPOLOGY),
            "NDX_SEED": str(SEED),
            "NDX_CREDENTIALS": str(self.secrets[REGISTRY]),
        }
        return ServiceProcess(
            name, "services.registry", env, free_port(), self.logs / f"{name}.log"
        )

    def agency(self, principal: str) -> AgencyClient:
        """An agency's client, signing with its own key from the driver's credentials."""
        security = self.stack.provisioned.credentials.security_for(principal)
        return AgencyClient(
            principal, KafkaTransport(self.stack.bootstrap, security=security), CODEC, 30
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("identity")
    topology = load_topology(DEMO_TOPOLOGY)
    with secured_stack(home / "kafka", topology) as stack:
        files = write_process_files(home / "secrets", stack.provisioned.credentials, topology)
        yield World(stack, files, home)


@pytest.fixture(scope="module")
def registry(world: World) -> Iterator[ServiceProcess]:
    process = world.registry("registry-a")
    process.start()
    try:
        process.wait_ready("registry")
        yield process
    finally:
        process.stop()


def verification(requester: str, citizen_id: str, name: str, born: str) -> VerificationRequested:
    return VerificationRequested(
        uuid.uuid4().hex, requester, citizen_id, name, born, "public-service-dossier", "", 0
    )


async def test_a_request_in_another_agencys_name_is_refused_counted_and_never_answered(
    world: World, registry: ServiceProcess
) -> None:
    citizen = Population(SEED).draw_living(random.Random(os.getpid()))
    rogue, victim = world.agency("province.001"), world.agency("province.079")
    await rogue.start()
    await victim.start()
    try:
        forged = verification(
            "province.079", citizen.citizen_id, citizen.full_name, citizen.birth_date
        )
        sent = await rogue.producer.send(
            VERIFY.name, CODEC.encode(forged), key=citizen.citizen_id.encode()
        )
        await sent
        denied = {"agency": "province.001", "action": "verify"}
        await asyncio.to_thread(
            wait_for,
            lambda: sample(registry.metrics_port, "ndx_denied_total", denied) == 1.0,
            WITHIN_S,
            "ndx_denied_total counts the forgery",
        )
        genuine = verification(
            "province.079", citizen.citizen_id, citizen.full_name, citizen.birth_date
        )
        assert (await victim.request(genuine)).outcome == "MATCH"  # the victim is still served
    finally:
        await rogue.stop()
        await victim.stop()

    admin = world.stack.admin
    replies = await read_topic(world.stack.bootstrap, reply_topic("province.079"), security=admin)
    answered = {getattr(CODEC.decode(r.value), "request_id", "") for r in replies}
    assert forged.request_id not in answered and genuine.request_id in answered
    letters = await read_topic(world.stack.bootstrap, DLQ.name, security=admin)
    reasons = [dict(r.headers).get("reason") for r in letters]
    assert reasons.count(b"forged_requester") == 1


async def test_a_ministry_with_no_agreement_for_a_purpose_gets_refused(
    world: World, registry: ServiceProcess
) -> None:
    citizen = Population(SEED).draw_existing(random.Random(7))
    ministry = world.agency("ministry.tax")
    await ministry.start()
    try:
        ask = LookupRequested(
            uuid.uuid4().hex, "ministry.tax", citizen.citizen_id, "curiosity", ["full_name"], 0
        )
        result = await ministry.request(ask)
    finally:
        await ministry.stop()
    assert result.outcome == "REFUSED"
    assert getattr(result.answer, "data", None) == {}


async def test_a_change_the_registry_did_not_sign_is_never_replayed(world: World) -> None:
    citizen = Population(SEED).draw_living(random.Random(os.getpid() + 1))
    forged = CitizenChanged(
        uuid.uuid4().hex, citizen.citizen_id, "DIED", "registry", 0, deceased=True
    )
    writer = KafkaTransport(world.stack.bootstrap, security=world.stack.admin).producer("forger")
    await writer.start()  # only the admin may write the feed; it does not sign as the registry
    try:
        await (
            await writer.send(CHANGES.name, CODEC.encode(forged), key=citizen.citizen_id.encode())
        )
    finally:
        await writer.stop()
    fresh = world.registry("registry-b")
    fresh.start()
    try:
        fresh.wait_ready("registry")
        ignored = {"agency": "unknown", "action": "change"}
        assert sample(fresh.metrics_port, "ndx_denied_total", ignored) >= 1.0
        province = world.agency("province.001")
        await province.start()
        try:
            check = verification(
                "province.001", citizen.citizen_id, citizen.full_name, citizen.birth_date
            )
            assert (await province.request(check)).outcome == "MATCH"  # still alive
        finally:
            await province.stop()
    finally:
        fresh.stop()


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
