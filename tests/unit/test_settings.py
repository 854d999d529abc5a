"""Settings are read once; a missing or malformed one is a clear message naming the variable."""

from __future__ import annotations

import pytest

from services.shared.settings import SettingsError, bootstrap_of, load_settings


def test_services_refuse_to_start_without_a_broker_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(SettingsError, match="KAFKA_BOOTSTRAP_SERVERS is not set"):
        bootstrap_of(load_settings())


def test_malformed_setting_names_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDX_REQUEST_TIMEOUT_S", "soon")
    with pytest.raises(SettingsError, match="NDX_REQUEST_TIMEOUT_S"):
        load_settings()


def test_missing_audit_key_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "services.shared.settings.Settings.model_config",
        {**load_settings().model_config, "env_file": None},
    )
    monkeypatch.delenv("NDX_AUDIT_KEY", raising=False)
    with pytest.raises(SettingsError, match="NDX_AUDIT_KEY"):
        load_settings()


def test_environment_overrides_the_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    monkeypatch.setenv("NDX_SEED", "42")
    settings = load_settings()
    assert bootstrap_of(settings) == "127.0.0.1:19092"
    assert settings.seed == 42
