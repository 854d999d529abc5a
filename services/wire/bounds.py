"""Limits on what a service copies from its input, so every record it writes is bounded."""

from __future__ import annotations

from dataclasses import dataclass

from services.wire import messages as m

MAX_REQUEST_BYTES = 1024 * 1024  # every producer's max request size (set explicitly on Kafka)
HEADER_ROOM = 16 * 1024  # dead-letter headers and record framing
DLQ_COPY_LIMIT = MAX_REQUEST_BYTES - HEADER_ROOM  # larger inputs are dead-lettered by reference
DETAIL_CHARS = 200  # a dead letter's `detail` header
REASON_CHARS = 200  # the `reason` of an answer

ID_CHARS = 128  # request, event and dossier ids
AGENCY_CHARS = 64  # agency ids: requester, source, province, responder
LABEL_CHARS = 128  # purposes, service codes, channels, kinds, outcomes, field names
CITIZEN_ID_CHARS = 32  # well past the 12 digits of a valid id: shorter wrong ids are REJECTED
NAME_CHARS = 256
DATE_CHARS = 32
ITEMS = 32  # entries of a list or a map (lookup fields, mismatched fields, released data)
REF_CHARS = 128  # keyed hashes standing for a citizen id
# Items of one bulk request (or one platform share): a chunk of this many stays far under a
# record's limit (about 120 bytes an item encoded, 150 answered).
BULK_ITEMS = 2000


@dataclass(frozen=True, slots=True)
class Limit:
    """Longest text (or longest entry of a list or map) and, for lists and maps, most entries."""

    chars: int
    items: int = 0


ID, AGENCY, LABEL = Limit(ID_CHARS), Limit(AGENCY_CHARS), Limit(LABEL_CHARS)
CITIZEN, NAME, DATE, REF = (
    Limit(CITIZEN_ID_CHARS),
    Limit(NAME_CHARS),
    Limit(DATE_CHARS),
    Limit(REF_CHARS),
)
LABELS = Limit(LABEL_CHARS, ITEMS)
BULK = Limit(ID_CHARS, BULK_ITEMS)  # a list of nested records: checked for its count

LIMITS: dict[type, dict[str, Limit]] = {
    m.VerificationRequested: {
        "request_id": ID,
        "requester": AGENCY,
        "citizen_id": CITIZEN,
        "full_name": NAME,
        "birth_date": DATE,
        "purpose": LABEL,
        "service_code": LABEL,
        "channel": LABEL,
    },
    m.LookupRequested: {
        "request_id": ID,
        "requester": AGENCY,
        "citizen_id": CITIZEN,
        "purpose": LABEL,
        "fields": LABELS,
    },
    m.CivilStatusRegistered: {
        "event_id": ID,
        "citizen_id": CITIZEN,
        "kind": LABEL,
        "source": AGENCY,
        "residence_province": LABEL,
    },
    m.CitizenChanged: {
        "event_id": ID,
        "citizen_id": CITIZEN,
        "change": LABEL,
        "source": AGENCY,
        "residence_province": LABEL,
    },
    m.DossierSubmitted: {
        "dossier_id": ID,
        "province": AGENCY,
        "service_code": LABEL,
        "channel": LABEL,
        "citizen_ref": REF,
    },
    m.SharingAudited: {
        "request_id": Limit(ID_CHARS + 1 + AGENCY_CHARS),  # a subscriber's: event id > ministry
        "requester": AGENCY,
        "provider": AGENCY,
        "flow": LABEL,
        "purpose": LABEL,
        "outcome": LABEL,
        "citizen_ref": REF,
    },
    m.BulkVerificationRequested: {
        "request_id": ID,
        "requester": AGENCY,
        "purpose": LABEL,
        "items": BULK,
    },
    m.SellersShared: {"share_id": ID, "platform": AGENCY, "job": ID, "sellers": BULK},
    m.VerificationAnswered: {
        "request_id": ID,
        "requester": AGENCY,
        "responder": AGENCY,
        "outcome": LABEL,
        "mismatched_fields": LABELS,
        "reason": Limit(REASON_CHARS),
        "registry_version": LABEL,
    },
    m.LookupAnswered: {
        "request_id": ID,
        "requester": AGENCY,
        "responder": AGENCY,
        "outcome": LABEL,
        "data": Limit(NAME_CHARS, ITEMS),
        "reason": Limit(REASON_CHARS),
    },
}


def clip(text: str, chars: int) -> str:
    """The text cut to `chars` characters, marked when cut, so it never grows with input."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _over(value: object, limit: Limit) -> str | None:
    if isinstance(value, str):
        return f"{len(value)} characters > {limit.chars}" if len(value) > limit.chars else None
    if isinstance(value, list | dict):
        if len(value) > limit.items:
            return f"{len(value)} entries > {limit.items}"
        entries = [*value, *value.values()] if isinstance(value, dict) else value
        longest = max((len(e) for e in entries if isinstance(e, str)), default=0)
        if entries and not isinstance(entries[0], str):  # nested records: their own limits
            return next(filter(None, (_nested(e) for e in entries)), None)
        if longest > limit.chars:
            return f"an entry of {longest} characters > {limit.chars}"
    return None


NESTED: dict[type, dict[str, Limit]] = {
    m.BulkItem: {"item_id": ID, "citizen_id": CITIZEN, "full_name": NAME, "birth_date": DATE},
    m.SellerShared: {
        "seller_ref": ID,
        "kind": LABEL,
        "citizen_id": CITIZEN,
        "full_name": NAME,
        "birth_date": DATE,
        "tax_code": LABEL,
    },
}


def _nested(entry: object) -> str | None:
    for name, limit in NESTED.get(type(entry), {}).items():
        problem = _over(getattr(entry, name, None), limit)
        if problem is not None:
            return f"an item's {name}: {problem}"
    return None


def oversized(message: object) -> str | None:
    """Which field of a message is over its limit and by how much (bounded text), or None."""
    for name, limit in LIMITS.get(type(message), {}).items():
        problem = _over(getattr(message, name, None), limit)
        if problem is not None:
            return f"{name}: {problem}"
    return None
