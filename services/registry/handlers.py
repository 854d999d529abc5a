"""The registry's handlers: each decision answered on the requester's own topic and audited."""

from __future__ import annotations

import asyncio
import time
import uuid

from services.loop import DeadLetter, Outgoing
from services.registry.audit import audit
from services.registry.decisions import Registry, decide_lookup, decide_verification
from services.wire import (
    CHANGES,
    REASON_CHARS,
    Answer,
    BulkItemAnswer,
    BulkVerificationAnswered,
    BulkVerificationRequested,
    CitizenChanged,
    CivilStatusRegistered,
    LookupAnswered,
    LookupRequested,
    Request,
    VerificationAnswered,
    VerificationRequested,
    bulk_reply_topic,
    clip,
    reply_topic,
)
from services.world import InvalidCitizenId

PROVIDER = "registry"
CIVIL_SOURCES = frozenset({"ministry.justice"})


def now_us() -> int:
    return time.time_ns() // 1000


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
    drawn = await registry.database.work()
    version = registry.overlay.version(req.citizen_id)  # read with the decision, no await between
    decided = decide_verification(registry, req)
    answer = VerificationAnswered(
        req.request_id,
        req.requester,
        registry.responder,
        decided.outcome,
        now_us(),
        list(decided.mismatched_fields),
        clip(decided.reason, REASON_CHARS),
        received_at_us=received,
        service_us=round(drawn * 1e6),
        citizen_version=version,
    )
    return _answered(registry, req, "verify", answer)


async def handle_bulk_verification(
    req: BulkVerificationRequested, registry: Registry
) -> list[Outgoing]:
    """Every item decided, answered and audited as a single verification would be: each takes
    a database slot of its own, queueing with the interactive requests on a shared lane."""
    received = now_us()
    registry.check_requester(req.requester)
    ids = {item.item_id for item in req.items}
    if len(ids) != len(req.items):
        raise DeadLetter("duplicate_items", f"{len(req.items) - len(ids)} item id(s) repeated")
    if not req.items:
        raise DeadLetter("no_items", "a bulk request with no items")
    database = registry.database
    drawn = [0.0] if database.idle else await asyncio.gather(*(database.work() for _ in ids))
    answers: list[BulkItemAnswer] = []
    audits: list[Outgoing] = []
    for i, item in enumerate(req.items):
        single = VerificationRequested(
            item.item_id,
            req.requester,
            item.citizen_id,
            item.full_name,
            item.birth_date,
            req.purpose,
            "",
            req.requested_at_us,
        )
        version = registry.overlay.version(item.citizen_id)  # read with the decision
        decided = decide_verification(registry, single)
        answers.append(
            BulkItemAnswer(
                item.item_id,
                decided.outcome,
                list(decided.mismatched_fields),
                clip(decided.reason, REASON_CHARS),
                version,
            )
        )
        audits.append(
            audit_record(
                registry,
                f"{req.request_id}#{i}",
                req.requester,
                "bulk",
                req.purpose,
                decided.outcome,
                item.citizen_id,
                req.requested_at_us,
                now_us(),
            )
        )
    answer = BulkVerificationAnswered(
        req.request_id,
        req.requester,
        registry.responder,
        answers,
        now_us(),
        received_at_us=received,
        service_us=round(sum(drawn) * 1e6),
    )
    reply = Outgoing(bulk_reply_topic(req.requester), answer, req.request_id.encode())
    return [reply, *audits]


async def handle_lookup(req: LookupRequested, registry: Registry) -> list[Outgoing]:
    """Release agreed fields only; a refusal is answered and audited like any other outcome."""
    received = now_us()
    registry.check_requester(req.requester)
    drawn = await registry.database.work()
    version = registry.overlay.version(req.citizen_id)  # read with the decision, no await between
    decided = decide_lookup(registry, req)
    answer = LookupAnswered(
        req.request_id,
        req.requester,
        registry.responder,
        decided.outcome,
        now_us(),
        dict(decided.released),
        clip(decided.reason, REASON_CHARS),
        received_at_us=received,
        service_us=round(drawn * 1e6),
        citizen_version=version,
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
