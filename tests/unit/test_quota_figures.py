"""The throttle a run reports per principal comes from the brokers' exporter pages: a user the
broker tracks but has not throttled reads 0, several brokers' pages of one moment count as the
most throttled one, and a page that fails or is cut short loses that page, not the meter."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import pytest
from pydantic import SecretStr

from loadtests.cluster import (
    PrincipalThrottle,
    QuotaError,
    ThrottleMeter,
    apply_quotas,
    remove_quotas,
    throttle_of,
)
from loadtests.cluster.quotas import command_config
from services.config import Quota
from services.security import ClientSecurity
from tests.support.waiting import wait_for_async

HELP = "# HELP kafka_server_quota_throttle_time_ms Mean throttle applied to a user's requests.\n"


def page(throttles: dict[tuple[str, str], float | str]) -> str:
    """An exporter page as the JMX exporter writes it, with other families around."""
    lines = [
        "# HELP kafka_server_quota_byte_rate Bytes per second a user produced or fetched.",
        "# TYPE kafka_server_quota_byte_rate gauge",
        'kafka_server_quota_byte_rate{kind="produce",user="province.001"} 24343.9',
        HELP.rstrip("\n"),
        "# TYPE kafka_server_quota_throttle_time_ms gauge",
        *(
            f'kafka_server_quota_throttle_time_ms{{kind="{kind}",user="{user}"}} {ms}'
            for (user, kind), ms in throttles.items()
        ),
        "# HELP kafka_server_bytes_in_total Bytes produced to the broker from clients.",
        "# TYPE kafka_server_bytes_in_total counter",
        "kafka_server_bytes_in_total 560799.0",
    ]
    return "\n".join(lines) + "\n"


def admin(
    protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT", ca: Path | None = None
) -> ClientSecurity:
    return ClientSecurity(protocol, "SCRAM-SHA-512", "admin", SecretStr("s3cret"), ca)


def test_an_exporter_page_gives_each_principal_its_throttle_by_kind() -> None:
    text = page(
        {
            ("province.001", "produce"): 15430.0,
            ("province.001", "request"): "NaN",
            ("province.079", "produce"): "NaN",
            ("ministry.tax", "fetch"): 250.5,
            ("user%40example", "produce"): 3.0,  # Kafka URL-encodes user names in MBean names
        }
    )

    assert throttle_of(text) == {
        "province.001": {"produce": 15430.0, "request": 0.0},
        "province.079": {"produce": 0.0},
        "ministry.tax": {"fetch": 250.5},
        "user@example": {"produce": 3.0},
    }


def test_a_page_without_quota_series_gives_no_principal() -> None:
    assert (
        throttle_of("# TYPE kafka_server_bytes_in_total counter\nkafka_server_bytes_in_total 1\n")
        == {}
    )


def test_figures_hold_the_peak_the_mean_over_tracked_scrapes_and_the_throttled_seconds() -> None:
    meter = ThrottleMeter(["http://node-1", "http://node-2"])
    rounds: list[list[dict[tuple[str, str], float | str]]] = [
        [{("province.001", "produce"): "NaN"}, {}],
        [{("province.001", "produce"): 400.0}, {("province.001", "produce"): 100.0}],
        # the other broker throttles harder this moment: the round counts the harder one
        [{("province.001", "produce"): 200.0}, {("province.001", "produce"): 800.0}],
        [{("province.001", "produce"): 0.0, ("province.079", "produce"): "NaN"}, {}],
    ]
    for pages in rounds:
        meter.add(page(throttles) for throttles in pages)

    assert meter.figures() == [
        PrincipalThrottle("province.001", "produce", 800.0, 300.0, 4, 2),
        PrincipalThrottle("province.079", "produce", 0.0, 0.0, 1, 0),
    ]


def test_a_page_cut_short_loses_that_page_only() -> None:
    meter = ThrottleMeter(["http://node-1", "http://node-2"])
    whole = page({("province.001", "produce"): 50.0})
    cut = page({("province.092", "fetch"): 70.0}).replace("70.0", "7x", 1)

    meter.add([whole, cut])

    assert meter.figures() == [PrincipalThrottle("province.001", "produce", 50.0, 50.0, 1, 1)]


async def test_the_meter_scrapes_every_broker_and_tolerates_one_that_does_not_answer() -> None:
    served = {
        "http://node-1/metrics": page({("province.001", "produce"): 120.0}),
        "http://node-2/metrics": None,  # down: every scrape of it fails
    }
    asked: list[str] = []

    def fetch(url: str) -> str:
        asked.append(url)
        text = served[url]
        if text is None:
            raise ConnectionRefusedError(f"{url}: connection refused")
        return text

    meter = ThrottleMeter(list(served), every_s=0.01, fetch=fetch)
    await meter.start()
    try:
        await wait_for_async(
            lambda: any(f.samples >= 3 for f in meter.figures()), 5.0, "three scrape rounds"
        )
    finally:
        await meter.stop()
    after_stop = len(asked)
    await asyncio.sleep(0.05)

    (figure,) = meter.figures()
    assert (figure.principal, figure.kind, figure.peak_ms, figure.mean_ms) == (
        "province.001",
        "produce",
        120.0,
        120.0,
    )
    assert figure.seconds_throttled == round(figure.samples * 0.01)  # scrapes x the interval
    assert set(asked) == set(served)
    assert len(asked) == after_stop  # stopped means no more scrapes


async def test_a_meter_of_no_exporters_starts_stops_and_has_no_figures() -> None:
    meter = ThrottleMeter([])
    await meter.start()
    await meter.stop()
    assert meter.figures() == []


def test_a_name_the_tool_would_take_for_every_users_default_is_refused_before_any_call() -> None:
    # An empty entity name makes kafka-configs set the default quota of every user.
    with pytest.raises(QuotaError, match="quota principal ''"):
        apply_quotas("127.0.0.1:1", admin(), {"": Quota(producer_byte_rate=10240)})
    with pytest.raises(QuotaError, match="'Province 1'"):
        remove_quotas("127.0.0.1:1", admin(), ["province.001", "Province 1"])


def test_the_tool_logs_in_as_the_admin_and_trusts_the_clusters_ca_over_tls(tmp_path: Path) -> None:
    plain = command_config(admin())
    assert "security.protocol=SASL_PLAINTEXT" in plain
    assert 'username="admin" password="s3cret"' in plain
    assert "ssl." not in plain

    ca = tmp_path / "ca.pem"
    tls = command_config(admin("SASL_SSL", ca))
    assert "security.protocol=SASL_SSL" in tls
    assert f"ssl.truststore.location={ca}" in tls
    assert "ssl.truststore.type=PEM" in tls
    assert "keystore" not in tls  # the nodes' private key stays theirs
