"""Who a run plays: agencies with their traffic weights and the flows each can take part in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from loadtests.scenario.model import Scenario, ScenarioError
from services.registry import LegalBasis
from services.world import Topology


@dataclass(frozen=True, slots=True)
class PlayedAgency:
    agency: str
    weight: float
    province: str | None  # citizens drawn from this birth province; None = nationwide
    agreements: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subscribes: bool = False
    civil: bool = False
    verify_purposes: frozenset[str] = frozenset()  # what its replica may answer, if it keeps one


def flow_pools(
    scenario: Scenario, agencies: list[PlayedAgency]
) -> dict[str, tuple[list[PlayedAgency], list[float]]]:
    """Which agencies can play each flow, with cumulative weights (computed once, not per
    arrival); flows nobody can play drop."""
    eligible = {
        "verify": agencies,
        "lookup": [a for a in agencies if a.agreements],
        "dossier": [a for a in agencies if a.province is not None],
        "death": [a for a in agencies if a.civil],
    }
    return {
        flow: (eligible[flow], list(accumulate(a.weight for a in eligible[flow])))
        for flow in scenario.mix.weights()
        if eligible[flow]
    }


def played_agencies(scenario: Scenario, topology: Topology, source: Path) -> list[PlayedAgency]:
    """Agencies to play, weighted: provinces by population, ministries by their weight."""
    provinces = {p.id: p for p in topology.provinces}
    ministries = {m.id: m for m in topology.ministries}
    wanted = scenario.agencies or [*provinces, *ministries]
    unknown = [a for a in wanted if a not in provinces and a not in ministries]
    if unknown:
        raise ScenarioError(f"{source}: agencies: not in topology {topology.name}: {unknown}")
    pop = sum(provinces[a].population for a in wanted if a in provinces) or 1
    weight = sum(ministries[a].weight for a in wanted if a in ministries) or 1
    has_m = any(a in ministries for a in wanted)
    has_p = any(a in provinces for a in wanted)
    m_share = topology.ministry_share if has_m and has_p else 1.0
    basis = LegalBasis(topology)
    out = []
    for a in wanted:
        if a in provinces:
            p = provinces[a]
            share = (1 - m_share) if has_m else 1.0
            out.append(PlayedAgency(a, share * p.population / pop, p.code))
            continue
        m = ministries[a]
        agreed = {g.purpose: tuple(g.fields) for g in m.agreements} if "lookup" in m.roles else {}
        out.append(
            PlayedAgency(
                a,
                m_share * m.weight / weight,
                None,
                agreed,
                "subscribe_changes" in m.roles,
                "publish_civil_events" in m.roles,
                basis.verify_purposes(a),
            )
        )
    return out
