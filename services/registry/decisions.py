"""What the registry decides on one request, from the population, its overlay and the legal
basis: kept apart from the handlers that answer and audit each decision."""

from __future__ import annotations

from dataclasses import dataclass

from services.loop.runtime import DeadLetter
from services.registry.agreements import LegalBasis
from services.registry.overlay import Overlay
from services.registry.worktime import Database
from services.wire.messages import LookupRequested, VerificationRequested
from services.world.population import Citizen, InvalidCitizenId, Population, normalise_name

__all__ = ["Registry", "decide_lookup", "decide_verification", "lookup_citizen"]


@dataclass(slots=True)
class Registry:
    """What every registry handler depends on, passed in by the wiring."""

    population: Population
    overlay: Overlay
    responder: str
    audit_key: bytes
    basis: LegalBasis
    database: Database  # the real database's own work per request, as the design models it

    def check_requester(self, requester: str) -> None:
        """Only agencies of the topology have a reply topic; anything else is dead-lettered."""
        if requester not in self.basis.requesters:
            raise DeadLetter("unknown_requester", f"requester {requester[:64]!r} is not an agency")


def lookup_citizen(registry: Registry, citizen_id: str) -> Citizen | None:
    """The record as the registry knows it now; raises InvalidCitizenId for a malformed id."""
    citizen = registry.population.citizen(citizen_id)
    return None if citizen is None else registry.overlay.view(citizen)


def decide_verification(
    registry: Registry, req: VerificationRequested
) -> tuple[str, list[str], str]:
    """Outcome, differing fields and reason for one verification."""
    if not registry.basis.may_verify(req.requester, req.purpose):
        return "REJECTED", [], f"no legal basis: {req.requester} may not verify for {req.purpose!r}"
    try:
        citizen = lookup_citizen(registry, req.citizen_id)
    except InvalidCitizenId as exc:
        return "REJECTED", [], f"invalid citizen id: {exc}"
    if citizen is None:
        return "NOT_FOUND", [], ""
    if citizen.deceased:
        return "DECEASED", [], ""
    differing = []
    if normalise_name(req.full_name) != normalise_name(citizen.full_name):
        differing.append("full_name")
    if req.birth_date != citizen.birth_date:
        differing.append("birth_date")
    return ("MISMATCH", differing, "") if differing else ("MATCH", [], "")


def decide_lookup(registry: Registry, req: LookupRequested) -> tuple[str, dict[str, str], str]:
    """Outcome, released fields and reason: only agreed fields ever leave the registry."""
    agreed = registry.basis.lookup_fields(req.requester, req.purpose)
    if agreed is None:
        return "REFUSED", {}, f"no agreement lets {req.requester} look up for {req.purpose!r}"
    try:
        citizen = lookup_citizen(registry, req.citizen_id)
    except InvalidCitizenId as exc:
        return "REJECTED", {}, f"invalid citizen id: {exc}"
    if citizen is None:
        return "NOT_FOUND", {}, ""
    released = {f: _text(getattr(citizen, f)) for f in req.fields if f in agreed}
    return ("DECEASED" if citizen.deceased else "FOUND"), released, ""


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
