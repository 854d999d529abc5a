"""What the registry decides on one request, from the population, its overlay and the legal
basis: kept apart from the handlers that answer and audit each decision."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.loop import DeadLetter
from services.registry.agreements import LegalBasis
from services.registry.overlay import Overlay
from services.registry.worktime import Database
from services.wire import LookupRequested, Outcome, VerificationRequested
from services.world.population import Citizen, InvalidCitizenId, Population, normalise_name

__all__ = [
    "LookupDecision",
    "Registry",
    "VerificationDecision",
    "decide_lookup",
    "decide_verification",
    "lookup_citizen",
]


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


@dataclass(frozen=True, slots=True)
class VerificationDecision:
    """The verdict on presented identity data, before it is answered and audited."""

    outcome: Outcome
    mismatched_fields: tuple[str, ...] = ()  # the presented fields that differ, for MISMATCH
    reason: str = ""  # why, for a REJECTED request


@dataclass(frozen=True, slots=True)
class LookupDecision:
    """What a lookup releases, before it is answered and audited."""

    outcome: Outcome
    released: dict[str, str] = field(default_factory=dict)  # only agreed fields, as text
    reason: str = ""  # why, for a REFUSED or REJECTED request


def decide_verification(registry: Registry, req: VerificationRequested) -> VerificationDecision:
    """Outcome, differing fields and reason for one verification."""
    if not registry.basis.may_verify(req.requester, req.purpose):
        why = f"no legal basis: {req.requester} may not verify for {req.purpose!r}"
        return VerificationDecision(Outcome.REJECTED, reason=why)
    try:
        citizen = lookup_citizen(registry, req.citizen_id)
    except InvalidCitizenId as exc:
        return VerificationDecision(Outcome.REJECTED, reason=f"invalid citizen id: {exc}")
    if citizen is None:
        return VerificationDecision(Outcome.NOT_FOUND)
    if citizen.deceased:
        return VerificationDecision(Outcome.DECEASED)
    differing: list[str] = []
    if normalise_name(req.full_name) != normalise_name(citizen.full_name):
        differing.append("full_name")
    if req.birth_date != citizen.birth_date:
        differing.append("birth_date")
    if differing:
        return VerificationDecision(Outcome.MISMATCH, tuple(differing))
    return VerificationDecision(Outcome.MATCH)


def decide_lookup(registry: Registry, req: LookupRequested) -> LookupDecision:
    """Outcome, released fields and reason: only agreed fields ever leave the registry."""
    agreed = registry.basis.lookup_fields(req.requester, req.purpose)
    if agreed is None:
        why = f"no agreement lets {req.requester} look up for {req.purpose!r}"
        return LookupDecision(Outcome.REFUSED, reason=why)
    try:
        citizen = lookup_citizen(registry, req.citizen_id)
    except InvalidCitizenId as exc:
        return LookupDecision(Outcome.REJECTED, reason=f"invalid citizen id: {exc}")
    if citizen is None:
        return LookupDecision(Outcome.NOT_FOUND)
    released = {f: _text(getattr(citizen, f)) for f in req.fields if f in agreed}
    return LookupDecision(Outcome.DECEASED if citizen.deceased else Outcome.FOUND, released)


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
