"""Configuration as typed data: settings from the environment, designs and the run configuration."""

from __future__ import annotations

from services.config.design import (
    Z99,
    Clients,
    Design,
    DesignError,
    Library,
    Ministries,
    RegistryDesign,
    Requesters,
    ServiceTime,
    Side,
    Topics,
    load_design,
)
from services.config.runconfig import (
    RunConfig,
    RunConfigError,
    key_check,
    read_run_config,
    topology_digest,
    write_run_config,
)
from services.config.settings import (
    REPO_ROOT,
    Settings,
    SettingsError,
    bootstrap_of,
    design_path,
    load_settings,
    topology_path,
    writer_versions,
)
from services.config.yamlfile import InputFileError, field_path, load_model

__all__ = [
    "REPO_ROOT",
    "Z99",
    "Clients",
    "Design",
    "DesignError",
    "InputFileError",
    "Library",
    "Ministries",
    "RegistryDesign",
    "Requesters",
    "RunConfig",
    "RunConfigError",
    "ServiceTime",
    "Settings",
    "SettingsError",
    "Side",
    "Topics",
    "bootstrap_of",
    "design_path",
    "field_path",
    "key_check",
    "load_design",
    "load_model",
    "load_settings",
    "read_run_config",
    "topology_digest",
    "topology_path",
    "write_run_config",
    "writer_versions",
]
