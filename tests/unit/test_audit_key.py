"""The audit key is the installation's own: made once, private, never shown; a given one wins."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from services.config.settings import ENV_FILE, SettingsError, load_settings
from services.security.auditkey import audit_key, installation_key

REPO = Path(__file__).resolve().parents[2]
GIVEN = "a-key-given-by-the-operator-0123"


def without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NDX_AUDIT_KEY", raising=False)


def test_the_committed_defaults_hold_no_audit_key() -> None:
    assert "NDX_AUDIT_KEY=" not in ENV_FILE.read_text(encoding="utf-8")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".cache/secrets/audit.key"], cwd=REPO, check=False
    )
    assert ignored.returncode == 0, "the key file must be git-ignored"


def test_a_first_use_generates_a_private_key_that_later_uses_reuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_key(monkeypatch)
    path = tmp_path / "secrets" / "audit.key"
    first = audit_key(load_settings(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first) == 64 and bytes.fromhex(first.decode())  # 32 random bytes, hex
    assert audit_key(load_settings(), path) == first
    assert installation_key(tmp_path / "other" / "audit.key") != first  # per installation


def test_a_given_key_wins_over_the_installation_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.key"
    installation_key(path)
    monkeypatch.setenv("NDX_AUDIT_KEY", GIVEN)
    assert audit_key(load_settings(), path) == GIVEN.encode()


def test_settings_never_show_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDX_AUDIT_KEY", GIVEN)
    settings = load_settings()
    assert GIVEN not in repr(settings) and GIVEN not in str(settings.model_dump())
    monkeypatch.setenv("NDX_AUDIT_KEY", "short")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "NDX_AUDIT_KEY" in str(info.value) and "short" not in str(info.value)


def test_a_loosened_key_file_is_made_private_again(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    key = installation_key(path)
    path.chmod(0o644)
    assert installation_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_key_file_is_named_not_used(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_text("not-a-key\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=str(path)):
        installation_key(path)


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    code = (
        "import hashlib, sys; from pathlib import Path; from services.security import auditkey; "
        "print(hashlib.sha256(auditkey.installation_key(Path(sys.argv[1]))).hexdigest())"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)], cwd=REPO, text=True, stdout=subprocess.PIPE
        )
        for _ in range(6)
    ]
    seen = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert seen == {hashlib.sha256(installation_key(path)).hexdigest()}
    assert [p.name for p in tmp_path.iterdir()] == ["audit.key"]  # no temporary file left


def test_setup_on_a_fresh_checkout_makes_the_key_and_never_prints_it(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPO / "services", checkout / "services", ignore=shutil.ignore_patterns("__pycache__")
    )
    (checkout / "deploy").mkdir()
    shutil.copy(ENV_FILE, checkout / "deploy" / ".env")
    env = {k: v for k, v in os.environ.items() if k != "NDX_AUDIT_KEY"}
    env["PYTHONPATH"] = str(checkout)

    def setup() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "services.security.auditkey"],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout + done.stderr

    said = setup()
    path = checkout / ".cache" / "secrets" / "audit.key"
    key = path.read_bytes().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.decode() not in said and ".cache/secrets/audit.key" in said
    assert key.decode() not in setup() and path.read_bytes().strip() == key  # reused
