"""Settings are read once; a missing or malformed one is a clear message naming the variable."""

from __future__ import annotations

import socket

import pytest

from services.config.settings import SettingsError, bootstrap_of, load_settings
from services.process import metrics


def test_services_refuse_to_start_without_a_broker_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(SettingsError, match="KAFKA_BOOTSTRAP_SERVERS is not set"):
        bootstrap_of(load_settings())


def test_malformed_setting_names_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDX_CONNECT_TIMEOUT_S", "soon")
    with pytest.raises(SettingsError, match="NDX_CONNECT_TIMEOUT_S"):
        load_settings()


def test_environment_overrides_the_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    monkeypatch.setenv("NDX_SEED", "42")
    settings = load_settings()
    assert bootstrap_of(settings) == "127.0.0.1:19092"
    assert settings.seed == 42


@pytest.mark.parametrize("value", ["127.0.0.1:9092", "kafka-1:9092,kafka-2:19092", "[::1]:9092"])
def test_bootstrap_servers_accept_host_port_lists(value: str) -> None:
    assert load_settings(KAFKA_BOOTSTRAP_SERVERS=value).kafka_bootstrap_servers == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("127.0.0.1:0", "port 0 of '127.0.0.1:0' is not in 1..65535"),
        ("127.0.0.1:65536", "not in 1..65535"),
        ("127.0.0.1", "expected a comma-separated list of host:port, got '127.0.0.1'"),
        ("kafka:9092;kafka:9093", "host:port"),
        ("kafka:9092,", "got ''"),
        ("PLAINTEXT://kafka:9092", "host:port"),
    ],
)
def test_an_unparsable_bootstrap_address_names_the_variable(value: str, why: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(KAFKA_BOOTSTRAP_SERVERS=value)
    assert "KAFKA_BOOTSTRAP_SERVERS: " in str(info.value)
    assert why in str(info.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("NDX_RATE_PER_AGENCY", "inf"), ("NDX_CONNECT_TIMEOUT_S", "nan"), ("NDX_INSTANCE", "a/b")],
)
def test_non_finite_or_unsafe_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_a_metrics_port_that_cannot_be_served_names_both_variables() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SettingsError, match="NDX_METRICS_HOST, NDX_METRICS_PORT"):
            metrics.serve("127.0.0.1", port)
