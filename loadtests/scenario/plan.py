"""A scenario checked with everything it refers to, before any process or broker starts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from loadtests.scenario.agencies import PlayedAgency, played_agencies
from loadtests.scenario.model import Scenario, load_scenario
from services.world import Topology, load_topology

__all__ = ["Plan", "new_run_id", "prepare"]


def new_run_id(scenario: Scenario) -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{scenario.name}"


@dataclass(frozen=True)
class Plan:
    """A validated scenario with everything it refers to, before anything starts."""

    path: Path
    scenario: Scenario
    topology_path: Path
    topology: Topology
    agencies: list[PlayedAgency]

    def with_scenario(self, scenario: Scenario) -> Plan:
        return replace(self, scenario=scenario)


def prepare(scenario_path: Path) -> Plan:
    """Load and check the scenario and its topology; raises ScenarioError or TopologyError."""
    scenario = load_scenario(scenario_path)
    topology_path = scenario.topology_path(scenario_path)
    topology = load_topology(topology_path)
    agencies = played_agencies(scenario, topology, scenario_path)
    return Plan(scenario_path, scenario, topology_path, topology, agencies)
