"""Settings read once at start-up from the environment and deploy/.env(.local), passed down."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = REPO_ROOT / "deploy" / ".env"
ENV_LOCAL = REPO_ROOT / "deploy" / ".env.local"  # git-ignored: this installation's own values
HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,6})")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NDX_",
        env_file=(ENV_FILE, ENV_LOCAL),
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        allow_inf_nan=False,
    )

    kafka_bootstrap_servers: str | None = Field(
        None,
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        min_length=3,
        description="Unset: services refuse to start; the runner starts a local broker.",
    )
    seed: int = Field(6, description="Seed of the procedural population; every side must agree.")
    audit_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="Key of the citizen-id hash in audit records; unset: the installation's own.",
    )
    connect_timeout_s: float = Field(8.0, gt=0, le=60)
    metrics_host: str = Field("127.0.0.1", min_length=1)
    metrics_port: int = Field(0, ge=0, le=65535, description="0 means do not serve /metrics.")
    instance: str = Field(
        "", pattern=r"^[A-Za-z0-9._-]{0,64}$", description="This process among its kind."
    )
    agencies: str = Field("", description="Comma-separated agency ids a requester process hosts.")
    lane: Literal["interactive", "bulk"] = Field(
        "interactive",
        description="A registry instance's lane: interactive requests, or a separate bulk lane.",
    )
    rate_per_agency: float = Field(
        5.0, ge=0, le=10_000, description="Background requests/s per agency."
    )
    topology: str = Field("loadtests/topologies/demo.yaml")
    schema_pins: str = Field(
        "", description="Writer versions to keep, e.g. 'VerificationAnswered=1' during a rollout."
    )
    run_config: Path | None = Field(
        None, description="The run's configuration file, written by ndxsim for every side."
    )
    design: str = Field(
        "deploy/designs/baseline.yaml", description="Design of a service started by hand."
    )
    credentials: Path | None = Field(
        None, description="Private file of this process's SASL identities; unset: plaintext."
    )
    transaction_record: bool = Field(
        True, description="Write runs/<id>/transactions.parquet (off: to measure what it costs)."
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str | None) -> str | None:
        if value is not None:
            for item in value.split(","):
                check_host_port(item.strip())
        return value


def check_host_port(item: str) -> None:
    """host:port or [v6 address]:port with a port of 1..65535, else a ValueError saying so."""
    match = HOST_PORT.fullmatch(item)
    if match is None:
        raise ValueError(f"expected a comma-separated list of host:port, got {item!r}")
    if not 1 <= int(match["port"]) <= 65535:
        raise ValueError(f"port {match['port']} of {item!r} is not in 1..65535")


def topology_path(settings: Settings) -> Path:
    """The topology file; relative paths are taken from the repository root."""
    path = Path(settings.topology)
    return path if path.is_absolute() else REPO_ROOT / path


def design_path(settings: Settings) -> Path:
    """The design file of a service started without a run configuration."""
    path = Path(settings.design)
    return path if path.is_absolute() else REPO_ROOT / path


def writer_versions(settings: Settings) -> dict[str, int]:
    """NDX_SCHEMA_PINS as record full name -> writer version."""
    pins: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in settings.schema_pins.split(","))):
        name, _, version = item.partition("=")
        if not name.strip() or not version.strip().isdigit():
            raise SettingsError(f"NDX_SCHEMA_PINS: expected Record=version, got {item!r}")
        pins[f"vn.gov.ndx.{name.strip()}"] = int(version)
    return pins


def bootstrap_of(settings: Settings) -> str:
    """Services cannot guess a cluster: a missing address stops start-up with this message."""
    if not settings.kafka_bootstrap_servers:
        raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set (host:port of a Kafka broker)")
    return settings.kafka_bootstrap_servers


def load_settings(**overrides: object) -> Settings:
    """Read settings once; a bad or missing one becomes one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{ENV_FILE} or {ENV_LOCAL}: not UTF-8 text (byte {exc.start})"
        ) from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            env = name if name.isupper() else f"NDX_{name.upper()}"
            problems.append(f"{env}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError(
            "bad settings (environment, deploy/.env or deploy/.env.local): " + "; ".join(problems)
        ) from None
