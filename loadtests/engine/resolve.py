"""Scenario, design and settings resolved once into the run configuration every side receives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loadtests.scenario.model import Scenario, ScenarioError
from services.config.design import Design, load_design
from services.config.runconfig import RunConfig, key_check, topology_digest
from services.config.settings import REPO_ROOT, Settings, writer_versions

__all__ = ["BASELINE", "Resolved", "apply_scenario", "resolve"]

BASELINE = REPO_ROOT / "deploy" / "designs" / "baseline.yaml"

# Scenario keys from before designs existed: still valid, and they win over the design.
LEGACY = {
    "timeout_s": ("requesters", "timeout_s"),
    "retries": ("requesters", "retries"),
    "retry_budget": ("requesters", "retry_budget"),
    "registry_instances": ("registry", "instances"),
}


@dataclass(frozen=True)
class Resolved:
    """The run configuration and what the reader of the report should know about it."""

    config: RunConfig
    design_file: Path
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
    scenario_path: Path,
    topology_path: Path,
    settings: Settings,
    run_id: str,
    audit_key: bytes,
    design_path: Path | None = None,
) -> Resolved:
    """Raises ScenarioError or DesignError naming the file and the field."""
    design_file = design_path or BASELINE
    design, notes = apply_scenario(scenario, load_design(design_file))
    _check_faults(scenario, design, str(scenario_path))
    seed = settings.seed if scenario.seed is None else scenario.seed
    config = RunConfig(
        run_id=run_id,
        seed=seed,
        topology_file=str(topology_path.resolve()),
        topology_sha256=topology_digest(topology_path),
        audit_key_check=key_check(audit_key),
        schema_pins=writer_versions(settings),
        design=design,
    )
    return Resolved(config, design_file, notes)
