"""With TLS the secured broker speaks SASL_SSL only, with certificates of the cluster's own CA."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from services.config import Library
from services.kafka import transport_for
from services.kafka.bus import ClientTuning
from services.security.access import REGISTRY
from services.wire.topics import VERIFY
from services.world.topology import load_topology
from tests.support.libraries import each_library
from tests.support.secured import SecuredStack, secured_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DEMO = Path(__file__).resolve().parents[2] / "loadtests" / "topologies" / "demo.yaml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredStack]:
    with secured_stack(tmp_path_factory.mktemp("tls"), load_topology(DEMO), tls=True) as running:
        yield running


async def connects(**options: object) -> bool:
    producer = AIOKafkaProducer(request_timeout_ms=5000, **options)  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(producer.start(), 30)
        await asyncio.wait_for(producer.send_and_wait(VERIFY.name, b"over TLS"), 30)
    except KafkaConnectionError:
        return False
    finally:
        await producer.stop()
    return True


async def test_an_agency_trusting_the_clusters_ca_writes_over_sasl_ssl(stack: SecuredStack) -> None:
    login = stack.login("province.001")

    assert login["security_protocol"] == "SASL_SSL"
    assert await connects(**login)


async def test_a_client_without_tls_or_trusting_another_ca_is_refused(stack: SecuredStack) -> None:
    login = stack.login("province.001")
    without_tls = {k: v for k, v in login.items() if k != "ssl_context"}
    other_ca = ssl.create_default_context()  # the system's CAs, not the cluster's

    assert not await connects(**{**without_tls, "security_protocol": "SASL_PLAINTEXT"})
    assert not await connects(**{**login, "ssl_context": other_ca})


@each_library
async def test_each_transport_sends_and_reads_back_over_sasl_ssl(
    stack: SecuredStack, library: Library
) -> None:
    """An agency's request reaches the registry over SASL_SSL, both clients on `library`."""
    logins = stack.provisioned.credentials
    tuning = ClientTuning(library=library)
    agency = transport_for(stack.bootstrap, tuning, logins.security_for("province.001"))
    registry = agency.as_principal(logins.security_for(REGISTRY))
    assert agency.security is not None and agency.security.protocol == "SASL_SSL"
    value = f"over TLS on {library} {uuid.uuid4().hex}".encode()
    producer = agency.producer(f"province.001.tls-{library}")
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(VERIFY.name, value, key=b"tls"), 30)
    finally:
        await producer.stop()
    consumer = registry.consumer([VERIFY.name], f"registry.tls-{library}", None, True)
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        seen: list[bytes | None] = []
        while value not in seen and asyncio.get_running_loop().time() < deadline:
            seen += [r.value for r in await consumer.getmany(500, 500)]
        assert value in seen, f"{library}: the registry did not read the request over TLS"
    finally:
        await consumer.stop()
