"""A client quota set on one agency's principal is the broker's to enforce: that agency's burst
is throttled, another's is not, the broker's exporter shows the throttle per principal, and once
removed the quota is gone. A quota the broker refuses names the principal it was for."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from loadtests.cluster import (
    LocalCluster,
    QuotaError,
    ThrottleMeter,
    apply_quotas,
    described_quotas,
    exporter_urls,
    remove_quotas,
    throttle_of,
)
from loadtests.cluster.quotas import fetch_page
from loadtests.stack.serviceproc import free_port
from services.config import Quota
from services.kafka import ClusterAdmin, KafkaTransport
from services.kafka.bus import ClientTuning
from services.security import AclRow, ClientSecurity
from services.wire import TopicSpec
from tests.support.waiting import wait_for_async

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

THROTTLED, FREE = "province.001", "province.079"
TOPIC = "ndx.quota.test"
RECORD = b"x" * 10_000
BURST = 30  # records: ~300 KB, some thirty seconds' worth at the quota
QUOTA = Quota(producer_byte_rate=10_240)
# The broker holds a throttled producer's next answer for the throttle (~15 s for this burst):
# its requests may wait that long without counting as lost.
PATIENT = ClientTuning(connect_timeout=45.0)


@dataclass(frozen=True)
class QuotaCluster:
    bootstrap: str
    admin: ClientSecurity
    agencies: dict[str, ClientSecurity]
    exporters: list[str]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuotaCluster]:
    """A secured node with its JMX exporter, and two agencies that may write one topic."""
    cluster = LocalCluster(
        tmp_path_factory.mktemp("quotas"), secured=True, jmx_exporter_port=free_port()
    )
    admin = cluster.admin
    assert admin is not None
    try:
        bootstrap = cluster.start()
        passwords = {p: SecretStr(secrets.token_urlsafe(24)) for p in (THROTTLED, FREE)}
        grants = ClusterAdmin(bootstrap, admin)
        grants.set_scram_passwords(passwords, 4096)
        grants.grant(
            AclRow(p, "TOPIC", "LITERAL", TOPIC, op)
            for p in passwords
            for op in ("WRITE", "DESCRIBE")
        )
        asyncio.run(
            KafkaTransport(bootstrap, security=admin).ensure_topics([TopicSpec(TOPIC, None, 1)])
        )
        agencies = {
            p: ClientSecurity(admin.protocol, admin.mechanism, p, password)
            for p, password in passwords.items()
        }
        yield QuotaCluster(bootstrap, admin, agencies, exporter_urls(cluster))
    finally:
        cluster.stop()


def throttles(cluster: QuotaCluster) -> dict[str, dict[str, float]]:
    (url,) = cluster.exporters
    return throttle_of(fetch_page(url))


async def burst(cluster: QuotaCluster, principal: str) -> asyncio.Task[None]:
    """Queue ~300 KB as principal at once; the task ends once the broker has taken it all."""
    transport = KafkaTransport(cluster.bootstrap, PATIENT, cluster.agencies[principal])
    producer = transport.producer(f"quota-test-{principal}")
    await producer.start()
    sent = [await producer.send(TOPIC, RECORD) for _ in range(BURST)]

    async def delivered() -> None:
        try:
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    return asyncio.create_task(delivered())


async def test_a_produce_quota_throttles_that_agency_only_until_removed(
    secured: QuotaCluster,
) -> None:
    began = time.monotonic()
    await asyncio.to_thread(apply_quotas, secured.bootstrap, secured.admin, {THROTTLED: QUOTA})
    print(f"\nquota applied in {time.monotonic() - began:.2f}s")
    held = await asyncio.to_thread(described_quotas, secured.bootstrap, secured.admin, THROTTLED)
    assert held == QUOTA.given() == {"producer_byte_rate": 10_240}
    assert await asyncio.to_thread(described_quotas, secured.bootstrap, secured.admin, FREE) == {}

    meter = ThrottleMeter(secured.exporters)
    await meter.start()
    try:
        slow = await burst(secured, THROTTLED)
        fast = await burst(secured, FREE)
        await asyncio.wait_for(fast, 30)

        async def throttled() -> bool:
            seen = await asyncio.to_thread(throttles, secured)
            return seen.get(THROTTLED, {}).get("produce", 0.0) > 0

        await wait_for_async(throttled, 30, f"the exporter showing {THROTTLED} throttled")
        seen = await asyncio.to_thread(throttles, secured)
        assert seen.get(FREE, {}).get("produce", 0.0) == 0.0, seen
        await wait_for_async(
            lambda: any(f.principal == THROTTLED and f.peak_ms > 0 for f in meter.figures()),
            10,
            "the meter scraping the throttle",
        )
        await asyncio.wait_for(slow, 60)  # throttled, not refused: every record is taken
    finally:
        await meter.stop()

    figures = {(f.principal, f.kind): f for f in meter.figures()}
    produce = figures[(THROTTLED, "produce")]
    assert produce.peak_ms > 0 and produce.seconds_throttled >= 1 and produce.samples >= 1
    assert produce.mean_ms <= produce.peak_ms
    unthrottled = figures.get((FREE, "produce"))
    assert unthrottled is None or unthrottled.peak_ms == 0.0

    await asyncio.to_thread(remove_quotas, secured.bootstrap, secured.admin, [THROTTLED, FREE])
    assert (
        await asyncio.to_thread(described_quotas, secured.bootstrap, secured.admin, THROTTLED) == {}
    )


def test_a_quota_the_broker_refuses_names_its_principal_and_sets_nothing(
    secured: QuotaCluster,
) -> None:
    # Past the design's own checks (a byte rate of at least 1 KiB/s), as a hand-made one would be.
    refused = Quota.model_construct(producer_byte_rate=0)

    with pytest.raises(QuotaError, match=rf"quota of {FREE}: .*producer_byte_rate") as caught:
        apply_quotas(secured.bootstrap, secured.admin, {FREE: refused})
    assert secured.admin.password.get_secret_value() not in str(caught.value)

    assert described_quotas(secured.bootstrap, secured.admin, FREE) == {}


def test_quotas_of_a_principal_never_given_any_are_removed_without_complaint(
    secured: QuotaCluster,
) -> None:
    remove_quotas(secured.bootstrap, secured.admin, [FREE, "province.092"])

    assert described_quotas(secured.bootstrap, secured.admin, "province.092") == {}
