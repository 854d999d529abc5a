"""The registry answers an agency only for records that agency signed itself."""

from __future__ import annotations

from services.kafka import Record
from services.loop import Refusal
from services.security import Verifier
from services.wire import (
    BulkVerificationRequested,
    CitizenChanged,
    CivilStatusRegistered,
    LookupRequested,
    Message,
    VerificationRequested,
)

REGISTRY = "registry"
UNKNOWN = "unknown"  # no valid signature: the claimed name is not trusted as a metric label
ACTIONS: dict[type, str] = {
    VerificationRequested: "verify",
    LookupRequested: "lookup",
    CivilStatusRegistered: "civil_event",
    BulkVerificationRequested: "bulk_verify",
}


def claimed(message: Message) -> str | None:
    """The agency a message says it comes from."""
    if isinstance(message, VerificationRequested | LookupRequested | BulkVerificationRequested):
        return message.requester
    if isinstance(message, CivilStatusRegistered | CitizenChanged):
        return message.source
    return None


def admit(verifier: Verifier, rec: Record, message: Message) -> Refusal | None:
    """Refuse a request or civil event not signed by the agency it names."""
    action = ACTIONS.get(type(message), "other")
    signer = verifier.signer(rec.topic, rec.key, rec.value, rec.headers or ())
    if signer is None:
        return Refusal("unsigned_or_forged", UNKNOWN, action)
    if signer != claimed(message):
        return Refusal("forged_requester", signer, action)
    return None


def registry_wrote(verifier: Verifier, rec: Record) -> bool:
    """True for a change record the registry itself signed (the replay trusts nothing else)."""
    return verifier.signer(rec.topic, rec.key, rec.value, rec.headers or ()) == REGISTRY
