"""The registry's answers: pure decisions from the procedural population and its overlay."""

from __future__ import annotations

import time
from dataclasses import dataclass

from services.registry.overlay import Overlay
from services.registry.population import (
    Citizen,
    InvalidCitizenId,
    Population,
    normalise_name,
)
from services.shared import metrics
from services.shared.citizenref import citizen_ref
from services.shared.messages import SharingAudited, VerificationAnswered, VerificationRequested
from services.shared.runtime import DeadLetter, Outgoing
from services.shared.topics import AUDIT, reply_topic

PROVIDER = "registry"


@dataclass(slots=True)
class Registry:
    """What every registry handler depends on, passed in by the wiring."""

    population: Population
    overlay: Overlay
    responder: str
    audit_key: bytes
    requesters: frozenset[str]

    def check_requester(self, requester: str) -> None:
        """Only agencies of the topology have a reply topic; anything else is dead-lettered."""
        if requester not in self.requesters:
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
    record = SharingAudited(
        request_id=request_id,
        requester=requester,
        provider=PROVIDER,
        flow=flow,
        purpose=purpose,
        outcome=outcome,
        citizen_ref=citizen_ref(citizen_id, registry.audit_key),
        requested_at_us=requested_at_us,
        answered_at_us=answered_at_us,
    )
    return Outgoing(AUDIT.name, record, requester.encode())


async def handle_verification(req: VerificationRequested, registry: Registry) -> list[Outgoing]:
    """Answer on the requester's own reply topic and leave an audit record."""
    started = time.perf_counter()
    registry.check_requester(req.requester)
    outcome, differing, reason = decide_verification(registry, req)
    answered = now_us()
    answer = VerificationAnswered(
        request_id=req.request_id,
        requester=req.requester,
        responder=registry.responder,
        outcome=outcome,
        answered_at_us=answered,
        mismatched_fields=differing,
        reason=reason,
    )
    metrics.REGISTRY_PROCESSING.labels("verify").observe(time.perf_counter() - started)
    metrics.TRANSACTIONS.labels(req.requester, PROVIDER, "verify", outcome, "provider").inc()
    return [
        Outgoing(reply_topic(req.requester), answer, req.request_id.encode()),
        audit_record(
            registry,
            req.request_id,
            req.requester,
            "verify",
            req.purpose,
            outcome,
            req.citizen_id,
            req.requested_at_us,
            answered,
        ),
    ]
