"""The one place a service process turns its settings into the run it takes part in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.config import (
    RunConfig,
    Settings,
    SettingsError,
    Side,
    bootstrap_of,
    design_path,
    key_check,
    load_design,
    read_run_config,
    topology_digest,
    topology_path,
    writer_versions,
)
from services.kafka.bus import ClientTuning
from services.kafka.choice import ClusterTransport, transport_for
from services.security import ClientSecurity, Credentials, credentials_of
from services.security.auditkey import audit_key
from services.wire import Catalogue, Codec, TopicSpec, topics_for
from services.world import Topology, load_topology

__all__ = ["ServiceContext", "service_context", "standalone_config"]

STANDALONE = "standalone"


def standalone_config(settings: Settings, key: bytes) -> RunConfig:
    """A service started by hand: its settings and design file stand for the run."""
    topology = topology_path(settings)
    return RunConfig(
        run_id=STANDALONE,
        seed=settings.seed,
        topology_file=str(topology),
        topology_sha256=topology_digest(topology),
        audit_key_check=key_check(key),
        schema_pins=writer_versions(settings),
        design=load_design(design_path(settings)),
    )


@dataclass(frozen=True)
class ServiceContext:
    """What every service is given: its run's configuration, cluster, keys and identities."""

    settings: Settings
    config: RunConfig
    bootstrap: str
    audit_key: bytes
    topology: Topology
    credentials: Credentials | None

    @property
    def name(self) -> str:
        return self.settings.instance

    def tuning(self, side: Side = "services") -> ClientTuning:
        return ClientTuning.of(self.config.design, self.settings.connect_timeout_s, side)

    def security(self, principal: str) -> ClientSecurity | None:
        """How `principal` authenticates; None on a plaintext cluster."""
        if self.credentials is None:
            return None
        try:
            return self.credentials.security_for(principal)
        except KeyError as exc:
            raise SettingsError(f"NDX_CREDENTIALS: {exc.args[0]}") from None

    def transport(self, principal: str, side: Side = "services") -> ClusterTransport:
        """Clients on the library the design gives `side`, tuned as it says, authenticating as
        `principal` when secured."""
        return transport_for(self.bootstrap, self.tuning(side), self.security(principal))

    async def prepare_topics(self, transport: ClusterTransport) -> None:
        """Create missing topics on a plaintext cluster; a secured one's admin made them."""
        if self.credentials is None:
            await transport.ensure_topics(self.topics())

    def topics(self) -> list[TopicSpec]:
        topology = self.topology
        return topics_for(topology.agencies(), self.config.design.topics, topology.reconcilers())

    def codec(self) -> Codec:
        """Writer versions from the run, unless this process is pinned (a rollout step)."""
        pins = writer_versions(self.settings) if self.settings.schema_pins else None
        try:
            return Codec(Catalogue(), writer_versions=pins or self.config.schema_pins)
        except KeyError as exc:
            raise SettingsError(f"NDX_SCHEMA_PINS: no such schema version {exc}") from None


def service_context(settings: Settings) -> ServiceContext:
    """NDX_RUN_CONFIG when ndxsim started this process, else the settings and design file."""
    key = audit_key(settings)
    if settings.run_config is not None:
        config = read_run_config(settings.run_config)
        config.check_key(key)
        topology_file = Path(config.topology_file)
        if topology_digest(topology_file) != config.topology_sha256:
            raise SettingsError(f"{topology_file}: changed since run {config.run_id} began")
    else:
        config = standalone_config(settings, key)
        topology_file = Path(config.topology_file)
    return ServiceContext(
        settings,
        config,
        bootstrap_of(settings),
        key,
        load_topology(topology_file),
        credentials_of(settings),
    )
