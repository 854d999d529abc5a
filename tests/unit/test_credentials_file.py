"""Credentials files are private, validated, name the file and field, and never echo a secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.config.settings import load_settings
from services.security.credentials import (
    Credentials,
    CredentialsError,
    credentials_of,
    load_credentials,
)
from services.security.credfile import write_credentials

SECRET = "s3cr3t-password-value"


def made(**identities: str) -> Credentials:
    return Credentials(identities={p: SecretStr(s) for p, s in identities.items()})


def test_written_credentials_are_private_and_read_back_the_same(tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "p.yaml", made(registry=SECRET))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_credentials(path)
    assert loaded.identities["registry"].get_secret_value() == SECRET
    assert (loaded.protocol, loaded.mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")


def test_rewriting_a_file_others_could_read_makes_it_private(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("old")
    path.chmod(0o644)

    write_credentials(path, made(registry=SECRET))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_others_may_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "p.yaml", made(registry=SECRET))
    path.chmod(0o644)

    with pytest.raises(CredentialsError, match=rf"{path}: mode 0644 .* chmod 600"):
        load_credentials(path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (f"identities: {{registry: {SECRET}}}\nprotocol: PLAINTEXT\n", "protocol"),
        (f"identities: {{registry: {SECRET}}}\nmechanism: PLAIN\n", "mechanism"),
        (f"identities: {{registry: {SECRET}}}\npassword: {SECRET}\n", "password"),
        ("identities: {}\n", "identities"),
        (f"identities: {{Registry Service: {SECRET}}}\n", "identities"),
        ("identities: {registry: ''}\n", "identities"),
        (f"identities: {{registry: [{SECRET}]}}\n", "identities.registry"),
    ],
)
def test_a_bad_file_names_itself_and_the_field_but_not_the_secret(
    tmp_path: Path, text: str, field: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    path.chmod(0o600)

    with pytest.raises(CredentialsError) as caught:
        load_credentials(path)

    assert f"{path}: {field}" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_invalid_yaml_is_reported_without_its_text(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"identities:\n  registry: {SECRET}\n bad: [\n")
    path.chmod(0o600)

    with pytest.raises(CredentialsError, match=rf"{path}: invalid YAML at line \d") as caught:
        load_credentials(path)
    assert SECRET not in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match=f"{tmp_path / 'none.yaml'}: cannot read"):
        load_credentials(tmp_path / "none.yaml")


def test_a_process_gets_only_the_identities_it_asks_for() -> None:
    everyone = made(registry="a", monitor="b", **{"province.001": "c"})

    mine = everyone.only(["province.001"])

    assert list(mine.identities) == ["province.001"]
    assert mine.security_for("province.001").password.get_secret_value() == "c"
    with pytest.raises(KeyError, match="no identity for 'registry'"):
        mine.security_for("registry")


def test_passwords_stay_out_of_reprs() -> None:
    creds = made(registry=SECRET)

    assert SECRET not in repr(creds)
    assert SECRET not in repr(creds.security_for("registry"))


def test_ndx_credentials_names_the_file_a_process_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_credentials(tmp_path / "p.yaml", made(monitor=SECRET))
    monkeypatch.setenv("NDX_AUDIT_KEY", "k" * 16)

    monkeypatch.setenv("NDX_CREDENTIALS", str(path))
    loaded = credentials_of(load_settings())
    monkeypatch.delenv("NDX_CREDENTIALS")
    plaintext = credentials_of(load_settings())

    assert loaded is not None and list(loaded.identities) == ["monitor"]
    assert plaintext is None
