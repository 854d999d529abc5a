"""With TLS the secured broker speaks SASL_SSL only, with certificates of the cluster's own CA."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from services.wire.topics import VERIFY
from services.world.topology import load_topology
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
