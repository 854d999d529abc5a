"""Scenario, design and settings resolved once into the run configuration every side receives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loadtests.scenario import Scenario, ScenarioError, prepare
from services.config import (
    REPO_ROOT,
    Design,
    RunConfig,
    Settings,
    key_check,
    load_design,
    topology_digest,
    writer_versions,
)
from services.security.auditkey import audit_key

__all__ = [
    "BASELINE",
    "Resolved",
    "RunFiles",
    "RunInputs",
    "apply_scenario",
    "read_inputs",
    "resolve",
    "with_design",
]

BASELINE = REPO_ROOT / "deploy" / "designs" / "baseline.yaml"

# Scenario keys from before designs existed: still valid, and they win over the design.
LEGACY = {
    "timeout_s": ("requesters", "timeout_s"),
    "retries": ("requesters", "retries"),
    "retry_budget": ("requesters", "retry_budget"),
    "registry_instances": ("registry", "instances"),
}


@dataclass(frozen=True)
class RunFiles:
    """The files a run's scenario and design were read from, if they were: the report names
    them, errors name the scenario's, and a relative topology path is found beside it."""

    scenario: Path | None = None
    design: Path | None = None

    def where(self, scenario: Scenario) -> str:
        """What an error about the scenario names: its file, else the scenario itself."""
        return str(self.scenario) if self.scenario is not None else f"scenario {scenario.name}"

    def topology(self, scenario: Scenario) -> Path:
        """The scenario's topology file: relative to the scenario's file, or to the working
        directory for a scenario built in code."""
        if self.scenario is not None:
            return scenario.topology_path(self.scenario)
        return Path(scenario.topology).resolve()


@dataclass(frozen=True)
class RunInputs:
    """A scenario and a design read from their files and checked before anything starts."""

    scenario: Scenario
    design: Design
    files: RunFiles


def read_inputs(scenario_path: Path, design_path: Path | None, settings: Settings) -> RunInputs:
    """The scenario file (with its topology and agencies), the audit key, then the design file
    (the baseline when none is given): raises ScenarioError, TopologyError, SettingsError or
    DesignError naming the file or variable and the field."""
    plan = prepare(scenario_path)
    audit_key(settings)  # generated or refused now, before anything starts
    return with_design(plan.scenario, scenario_path, design_path)


def with_design(scenario: Scenario, scenario_path: Path, design_path: Path | None) -> RunInputs:
    """A scenario already read, with the design file read now (the baseline when none)."""
    design_file = design_path or BASELINE
    return RunInputs(scenario, load_design(design_file), RunFiles(scenario_path, design_file))


@dataclass(frozen=True)
class Resolved:
    """The run configuration and what the reader of the report should know about it."""

    config: RunConfig
    design_file: str
    notes: list[str]


def apply_scenario(scenario: Scenario, design: Design) -> tuple[Design, list[str]]:
    """The design with the scenario's legacy keys applied, and a note for each."""
    notes = []
    for key, (section, field) in LEGACY.items():
        value = getattr(scenario, key)
        if value is None:
            continue
        part = getattr(design, section)
        if getattr(part, field) != value:
            notes.append(
                f"the scenario's {key}: {value} overrides the design's "
                f"{section}.{field}: {getattr(part, field)}"
            )
        design = design.model_copy(update={section: part.model_copy(update={field: value})})
    return Design.model_validate(design.model_dump()), notes


def _check_faults(scenario: Scenario, design: Design, where: str) -> None:
    """Faults must name parts the design has: a registry instance, a local broker."""
    for i, fault in enumerate(scenario.faults):
        if fault.action in ("kill_registry", "stop_registry") and (
            fault.instance > design.registry.instances
        ):
            raise ScenarioError(
                f"{where}: faults[{i}].instance: {fault.instance}, but design {design.name} "
                f"runs {design.registry.instances} registry instance(s)"
            )
        brokers = design.cluster.brokers
        if (
            fault.action in ("kill_broker", "restart_broker")
            and isinstance(brokers, int)
            and (fault.node > brokers)
        ):
            raise ScenarioError(
                f"{where}: faults[{i}].node: {fault.node}, but design {design.name} has "
                f"{brokers} broker(s)"
            )


def resolve(
    scenario: Scenario,
    design: Design,
    files: RunFiles,
    settings: Settings,
    run_id: str,
    key: bytes,
) -> Resolved:
    """Raises ScenarioError naming the scenario's file and the field."""
    design, notes = apply_scenario(scenario, design)
    _check_faults(scenario, design, files.where(scenario))
    topology_path = files.topology(scenario)
    seed = settings.seed if scenario.seed is None else scenario.seed
    config = RunConfig(
        run_id=run_id,
        seed=seed,
        topology_file=str(topology_path.resolve()),
        topology_sha256=topology_digest(topology_path),
        audit_key_check=key_check(key),
        schema_pins=writer_versions(settings),
        design=design,
    )
    design_file = str(files.design) if files.design is not None else ""
    return Resolved(config, design_file, notes)
