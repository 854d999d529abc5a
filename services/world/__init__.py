"""The simulated world: a procedural population, its reference data and who takes part."""

from __future__ import annotations

from services.world.citizenref import citizen_ref
from services.world.population import Citizen, InvalidCitizenId, Population
from services.world.refdata import essential_services
from services.world.sellers import ENTERPRISE, INDIVIDUAL, SELLER_FAULTS, Seller, Sellers
from services.world.topology import (
    RECONCILE_PURPOSE,
    TAX_AUTHORITY,
    Platform,
    Topology,
    TopologyError,
    load_topology,
)

__all__ = [
    "ENTERPRISE",
    "INDIVIDUAL",
    "RECONCILE_PURPOSE",
    "SELLER_FAULTS",
    "TAX_AUTHORITY",
    "Citizen",
    "InvalidCitizenId",
    "Platform",
    "Population",
    "Seller",
    "Sellers",
    "Topology",
    "TopologyError",
    "citizen_ref",
    "essential_services",
    "load_topology",
]
