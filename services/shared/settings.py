"""Settings read once at start-up from the environment and deploy/.env, then passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = REPO_ROOT / "deploy" / ".env"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NDX_", env_file=ENV_FILE, extra="ignore", frozen=True, populate_by_name=True
    )

    kafka_bootstrap_servers: str | None = Field(
        None,
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        min_length=3,
        description="Unset: services refuse to start; the runner starts a local broker.",
    )
    seed: int = Field(6, description="Seed of the procedural population; every side must agree.")
    audit_key: str = Field(min_length=8, description="Key of the citizen-id hash in audit records.")
    request_timeout_s: float = Field(5.0, gt=0)
    connect_timeout_s: float = Field(8.0, gt=0, le=60)
    replication_factor: int = Field(1, ge=1)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(0, ge=0, le=65535, description="0 means do not serve /metrics.")
    instance: str = Field("", description="Name of this process among its kind, e.g. registry-1.")
    agencies: str = Field("", description="Comma-separated agency ids a requester process hosts.")
    rate_per_agency: float = Field(5.0, ge=0, description="Background requests/s per agency.")
    topology: str = Field("loadtests/topologies/demo.yaml")
    schema_pins: str = Field(
        "", description="Writer versions to keep, e.g. 'VerificationAnswered=1' during a rollout."
    )
    credentials: Path | None = Field(
        None, description="Private file of this process's SASL identities; unset: plaintext."
    )


def topology_path(settings: Settings) -> Path:
    """The topology file; relative paths are taken from the repository root."""
    path = Path(settings.topology)
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
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            env = name if name.isupper() else f"NDX_{name.upper()}"
            problems.append(f"{env}: {err['msg']}")
        raise SettingsError(
            "bad settings (environment or deploy/.env): " + "; ".join(problems)
        ) from None
