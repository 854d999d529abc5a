"""On a secured broker every client is somebody, and each agency may do only what the ACL table
generated from the topology grants it: the broker itself refuses the rest."""

from __future__ import annotations

import asyncio
import logging
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from loadtests.cluster.provision import write_process_files
from services.security.access import REGISTRY
from services.security.credentials import load_credentials
from services.wire.topics import (
    CHANGES,
    RECONCILED,
    REGISTRY_GROUP,
    SELLERS,
    TAX_GROUP,
    VERIFY,
    bulk_reply_topic,
    change_group,
    reply_topic,
)
from services.world.topology import Topology, load_topology
from tests.support.secured import SecuredStack, secured_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DEMO = Path(__file__).resolve().parents[2] / "loadtests" / "topologies" / "demo.yaml"
TOPIC_AUTHORIZATION_FAILED = 29
LIMIT_S = 30.0


@pytest.fixture(scope="module")
def world() -> Topology:
    return load_topology(DEMO)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, world: Topology) -> Iterator[SecuredStack]:
    with secured_stack(tmp_path_factory.mktemp("secured"), world) as running:
        yield running


async def started(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    try:
        await asyncio.wait_for(client.start(), LIMIT_S)
    except BaseException:
        await client.stop()
        raise


async def write(stack: SecuredStack, principal: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **stack.login(principal))
    await started(producer)
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"k"), LIMIT_S)
    finally:
        await producer.stop()


async def read_until(
    stack: SecuredStack, principal: str, topic: str, value: bytes, group: str | None = None
) -> None:
    """Read topic from its beginning as principal until value arrives."""
    consumer = AIOKafkaConsumer(
        topic,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **stack.login(principal),
    )
    await started(consumer)
    try:
        deadline = asyncio.get_running_loop().time() + LIMIT_S
        while asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            if any(r.value == value for records in batches.values() for r in records):
                return
        raise AssertionError(f"{principal} did not read {value!r} from {topic}")
    finally:
        await consumer.stop()


async def test_a_client_without_sasl_is_refused(stack: SecuredStack) -> None:
    plaintext = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await started(plaintext)

    await write(stack, "province.001", VERIFY.name, b"same client, with its identity")


async def test_a_wrong_password_is_refused(
    stack: SecuredStack, caplog: pytest.LogCaptureFixture
) -> None:
    login = {**stack.login("province.001"), "sasl_plain_password": "not-the-password"}
    producer = AIOKafkaProducer(request_timeout_ms=5000, **login)

    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        await started(producer)
    assert "SaslAuthenticationFailed" in caplog.text


async def test_a_province_cannot_read_another_provinces_replies(stack: SecuredStack) -> None:
    consumer = AIOKafkaConsumer(reply_topic("province.079"), **stack.login("province.001"))

    with pytest.raises(TopicAuthorizationFailedError):
        await started(consumer)


async def test_a_province_cannot_write_the_change_feed(stack: SecuredStack) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await write(stack, "province.001", CHANGES.name, b"forged death")


async def test_a_province_cannot_create_a_topic(stack: SecuredStack) -> None:
    name = f"ndx.rogue.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**stack.login("province.001"))
    await asyncio.wait_for(admin.start(), LIMIT_S)
    try:
        response = await admin.create_topics([NewTopic(name, 1, 1)])
        listed = await admin.list_topics()
    finally:
        await admin.close()

    assert [(t, code) for t, code, *_ in response.topic_errors] == [
        (name, TOPIC_AUTHORIZATION_FAILED)
    ]
    assert name not in listed


async def test_a_province_asks_and_reads_the_registrys_answer_on_its_own_topic(
    stack: SecuredStack,
) -> None:
    request, answer = uuid.uuid4().bytes, uuid.uuid4().bytes

    await write(stack, "province.001", VERIFY.name, request)
    await read_until(stack, REGISTRY, VERIFY.name, request, group=REGISTRY_GROUP)
    await write(stack, REGISTRY, reply_topic("province.001"), answer)
    await read_until(stack, "province.001", reply_topic("province.001"), answer)


async def test_only_a_subscribing_ministry_reads_the_change_feed(
    stack: SecuredStack, world: Topology
) -> None:
    roles = {m.id: m.roles for m in world.ministries}
    assert "subscribe_changes" not in roles["ministry.justice"]
    assert "subscribe_changes" in roles["ministry.vss"]
    change = uuid.uuid4().bytes
    await write(stack, REGISTRY, CHANGES.name, change)

    await read_until(stack, "ministry.vss", CHANGES.name, change, change_group("ministry.vss"))
    consumer = AIOKafkaConsumer(CHANGES.name, **stack.login("ministry.justice"))
    with pytest.raises(TopicAuthorizationFailedError):
        await started(consumer)


async def test_a_process_file_carries_only_its_identities_and_they_log_in(
    stack: SecuredStack, world: Topology, tmp_path: Path
) -> None:
    files = write_process_files(tmp_path, stack.provisioned.credentials, world)
    provinces = load_credentials(files["province"])

    assert stat.S_IMODE(files["province"].stat().st_mode) == 0o600
    assert sorted(provinces.identities) == sorted(p.id for p in world.provinces)
    assert list(load_credentials(files["registry"]).identities) == [REGISTRY]
    login = provinces.security_for("province.079")
    await write(stack, login.principal, VERIFY.name, b"from the province process's file")


async def test_a_platform_shares_sellers_only_with_the_tax_authority(stack: SecuredStack) -> None:
    share = uuid.uuid4().bytes
    await write(stack, "platform.shopee", SELLERS.name, share)
    await read_until(stack, "ministry.tax", SELLERS.name, share, group=TAX_GROUP)
    for reader in ("platform.lazada", "platform.shopee", "ministry.vss", "province.001"):
        await refused_a_read(stack, reader, SELLERS.name)


async def refused_a_read(stack: SecuredStack, principal: str, topic: str) -> None:
    """The broker refuses principal's read of topic: at start (no grant on the topic at all) or
    at its first fetch (a platform may describe the topic it writes, never read it)."""
    consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **stack.login(principal))
    try:
        await asyncio.wait_for(consumer.start(), LIMIT_S)
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(consumer.getmany(timeout_ms=5000), LIMIT_S)
    except TopicAuthorizationFailedError:
        pass
    finally:
        await consumer.stop()


@pytest.mark.parametrize(
    "topic", [bulk_reply_topic("ministry.tax"), reply_topic("ministry.tax"), RECONCILED.name]
)
async def test_a_platform_cannot_read_the_tax_authoritys_answers_or_results(
    stack: SecuredStack, topic: str
) -> None:
    consumer = AIOKafkaConsumer(topic, **stack.login("platform.tiki"))
    with pytest.raises(TopicAuthorizationFailedError):
        await started(consumer)


async def test_the_tax_authority_cannot_write_as_a_platform(stack: SecuredStack) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await write(stack, "ministry.tax", SELLERS.name, b"sellers nobody shared")


async def test_a_platform_cannot_ask_the_registry_or_publish_results(stack: SecuredStack) -> None:
    for topic in (VERIFY.name, RECONCILED.name):
        with pytest.raises(TopicAuthorizationFailedError):
            await write(stack, "platform.shopee", topic, b"a platform asking for itself")
