"""The simulated world: a procedural population, its reference data and who takes part."""

from __future__ import annotations

from services.world.citizenref import citizen_ref
from services.world.population import Citizen, InvalidCitizenId, Population
from services.world.refdata import essential_services
from services.world.topology import Topology, TopologyError, load_topology

__all__ = [
    "Citizen",
    "InvalidCitizenId",
    "Population",
    "Topology",
    "TopologyError",
    "citizen_ref",
    "essential_services",
    "load_topology",
]
