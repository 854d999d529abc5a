"""The registry's answers: pure decisions from the procedural population and its overlay."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from services.registry.agreements import LegalBasis
from services.registry.overlay import Overlay
from services.registry.worktime import Database
from services.shared.audit import audit
from services.shared.bounds import REASON_CHARS, clip
from services.shared.messages import (
    Answer,
    CitizenChanged,
    CivilStatusRegistered,
    LookupAnswered,
    LookupRequested,
    Request,
    VerificationAnswered,
    VerificationRequested,
)
from services.shared.population import Citizen, InvalidCitizenId, Population, normalise_name
from services.shared.runtime import DeadLetter, Outgoing
from services.shared.topics import CHANGES, reply_topic

PROVIDER = "registry"
CIVIL_SOURCES = frozenset({"ministry.justice"})


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


def now_us() -> int:
    return time.time_ns() // 1000


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


def audit_record(
    registry: Registry,
    request_id: str,
    requester: str,
    flow: str,
    purpose: str,
    outcome: str,
    citizen_id: str,
    requested_at_us: int,
    answered_at_us: int,
) -> Outgoing:
    return audit(
        registry.audit_key,
        request_id,
        requester,
        PROVIDER,
        flow,
        purpose,
        outcome,
        citizen_id,
        requested_at_us,
        answered_at_us,
    )


def _answered(registry: Registry, req: Request, flow: str, answer: Answer) -> list[Outgoing]:
    """The answer on the requester's own topic and its audit record."""
    return [
        Outgoing(reply_topic(req.requester), answer, req.request_id.encode()),
        audit_record(
            registry,
            req.request_id,
            req.requester,
            flow,
            req.purpose,
            answer.outcome,
            req.citizen_id,
            req.requested_at_us,
            answer.answered_at_us,
        ),
    ]


async def handle_verification(req: VerificationRequested, registry: Registry) -> list[Outgoing]:
    """Verdict on presented identity data; every outcome is answered and audited."""
    received = now_us()
    registry.check_requester(req.requester)
    await registry.database.work()
    outcome, differing, reason = decide_verification(registry, req)
    answer = VerificationAnswered(
        req.request_id,
        req.requester,
        registry.responder,
        outcome,
        now_us(),
        differing,
        clip(reason, REASON_CHARS),
        received_at_us=received,
    )
    return _answered(registry, req, "verify", answer)


async def handle_lookup(req: LookupRequested, registry: Registry) -> list[Outgoing]:
    """Release agreed fields only; a refusal is answered and audited like any other outcome."""
    received = now_us()
    registry.check_requester(req.requester)
    await registry.database.work()
    outcome, data, reason = decide_lookup(registry, req)
    answer = LookupAnswered(
        req.request_id,
        req.requester,
        registry.responder,
        outcome,
        now_us(),
        data,
        clip(reason, REASON_CHARS),
        received_at_us=received,
    )
    return _answered(registry, req, "lookup", answer)


async def handle_civil_event(event: CivilStatusRegistered, registry: Registry) -> list[Outgoing]:
    """Apply a reported death or move and publish it as a change on the compacted topic."""
    if event.source not in CIVIL_SOURCES:
        raise DeadLetter("no_civil_authority", f"{event.source[:64]!r} may not report civil status")
    try:
        known = registry.population.citizen(event.citizen_id) is not None
    except InvalidCitizenId as exc:
        raise DeadLetter("invalid_citizen_id", str(exc)) from None
    if not known:
        raise DeadLetter("unknown_citizen", "civil event for a citizen the registry does not hold")
    died = event.kind == "DEATH"
    change = CitizenChanged(
        event_id=event.event_id or uuid.uuid4().hex,
        citizen_id=event.citizen_id,
        change="DIED" if died else "MOVED",
        source=event.source,
        changed_at_us=now_us(),
        residence_province="" if died else event.residence_province,
        deceased=died,
    )
    registry.overlay.apply(change)
    return [
        Outgoing(CHANGES.name, change, event.citizen_id.encode()),
        audit_record(
            registry,
            change.event_id,
            event.source,
            "civil",
            "civil-status-registration",
            change.change,
            event.citizen_id,
            event.registered_at_us,
            change.changed_at_us,
        ),
    ]
