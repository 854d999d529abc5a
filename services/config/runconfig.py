"""The one run configuration every side of a run receives: driver, services and workers."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.config.design import Design
from services.config.yamlfile import InputFileError, field_path

__all__ = [
    "RunConfig",
    "RunConfigError",
    "key_check",
    "read_run_config",
    "topology_digest",
    "write_run_config",
]

KEY_CHECK_LABEL = b"ndxsim audit key check"


class RunConfigError(InputFileError):
    """A run configuration file is unreadable, invalid, or disagrees with this side."""


def key_check(audit_key: bytes) -> str:
    """Proves two sides hold the same audit key without either revealing it."""
    return hmac.new(audit_key, KEY_CHECK_LABEL, hashlib.sha256).hexdigest()[:16]


def topology_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class RunConfig(BaseModel):
    """Scenario, design and settings resolved once; no side derives its own values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(min_length=1)
    seed: int
    topology_file: str = Field(description="Absolute path of the topology every side loads.")
    topology_sha256: str
    audit_key_check: str = Field(description="key_check() of the audit key; never the key.")
    schema_pins: dict[str, int] = Field(default_factory=dict)
    design: Design

    @property
    def fingerprint(self) -> str:
        """What makes two sides agree on every answer: population, topology and audit key."""
        basis = f"{self.seed}|{self.topology_sha256}|{self.audit_key_check}"
        return hashlib.sha256(basis.encode()).hexdigest()[:16]

    def check_key(self, audit_key: bytes) -> None:
        """A side with another audit key would write audit records nobody can join."""
        if not hmac.compare_digest(key_check(audit_key), self.audit_key_check):
            raise RunConfigError(
                f"run {self.run_id}: this side's NDX_AUDIT_KEY differs from the run's"
            )


def write_run_config(config: RunConfig, path: Path) -> Path:
    """Written once by the coordinator; readable only by this user (it names the run's files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(config.model_dump_json(indent=2))
    tmp.replace(path)
    return path


def read_run_config(path: Path) -> RunConfig:
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise RunConfigError(f"{path} (NDX_RUN_CONFIG): cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunConfigError(f"{path} (NDX_RUN_CONFIG): not JSON: {exc}") from None
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{field_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise RunConfigError(f"{path} (NDX_RUN_CONFIG): " + "; ".join(problems)) from None
