"""Messages are data named as facts; field names match their Avro schemas one for one."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """How a request ended: the registry's answer (its Avro enum symbol), the change it
    published for a reported death, or TIMEOUT when nothing came back in time. A StrEnum,
    so each is the same string on the wire, in metrics labels, records and reports."""

    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    FOUND = "FOUND"
    NOT_FOUND = "NOT_FOUND"
    DECEASED = "DECEASED"
    REFUSED = "REFUSED"
    REJECTED = "REJECTED"
    DIED = "DIED"
    MOVED = "MOVED"
    TIMEOUT = "TIMEOUT"


VERIFY_OUTCOMES = (
    Outcome.MATCH,
    Outcome.MISMATCH,
    Outcome.NOT_FOUND,
    Outcome.DECEASED,
    Outcome.REJECTED,
)
LOOKUP_OUTCOMES = (
    Outcome.FOUND,
    Outcome.NOT_FOUND,
    Outcome.DECEASED,
    Outcome.REFUSED,
    Outcome.REJECTED,
)


@dataclass(slots=True)
class VerificationRequested:
    request_id: str
    requester: str
    citizen_id: str
    full_name: str
    birth_date: str
    purpose: str
    service_code: str
    requested_at_us: int
    channel: str = ""  # v2: ONLINE or COUNTER; empty when unsaid or from a v1 writer


@dataclass(slots=True)
class VerificationAnswered:
    request_id: str
    requester: str
    responder: str
    outcome: str  # an Outcome of VERIFY_OUTCOMES
    answered_at_us: int
    mismatched_fields: list[str] = field(default_factory=list)
    reason: str = ""
    registry_version: str = ""  # v2: release that answered; empty from a v1 writer
    received_at_us: int = 0  # v3: registry clock when it took the request up; 0 when unsaid
    service_us: int = 0  # v4: database service time drawn for it; 0 when unsaid
    citizen_version: int = -1  # v4: changes of the citizen applied when decided; -1 when unsaid


@dataclass(slots=True)
class LookupRequested:
    request_id: str
    requester: str
    citizen_id: str
    purpose: str
    fields: list[str]
    requested_at_us: int


@dataclass(slots=True)
class LookupAnswered:
    request_id: str
    requester: str
    responder: str
    outcome: str  # an Outcome of LOOKUP_OUTCOMES
    answered_at_us: int
    data: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    received_at_us: int = 0  # v2: registry clock when it took the request up; 0 when unsaid
    service_us: int = 0  # v3: database service time drawn for it; 0 when unsaid
    citizen_version: int = -1  # v3: changes of the citizen applied when decided; -1 when unsaid


@dataclass(slots=True)
class CitizenChanged:
    event_id: str
    citizen_id: str
    change: str
    source: str
    changed_at_us: int
    residence_province: str = ""
    deceased: bool = False


@dataclass(slots=True)
class CivilStatusRegistered:
    event_id: str
    citizen_id: str
    kind: str
    source: str
    registered_at_us: int
    residence_province: str = ""


@dataclass(slots=True)
class DossierSubmitted:
    dossier_id: str
    province: str
    service_code: str
    channel: str
    citizen_ref: str
    submitted_at_us: int


@dataclass(slots=True)
class SharingAudited:
    request_id: str
    requester: str
    provider: str
    flow: str
    purpose: str
    outcome: str
    citizen_ref: str
    requested_at_us: int
    answered_at_us: int


@dataclass(slots=True)
class SellerShared:
    """One seller a platform hands over: only what verifying its identity needs."""

    seller_ref: str  # the platform's own id of the seller, never a citizen id
    kind: str  # INDIVIDUAL, or ENTERPRISE (verified through its legal representative)
    citizen_id: str
    full_name: str
    birth_date: str
    tax_code: str = ""  # an enterprise's tax code; empty for an individual


@dataclass(slots=True)
class SellersShared:
    """A batch of sellers an e-commerce platform shares with the tax authority (Directive 18)."""

    share_id: str
    platform: str
    job: str
    sellers: list[SellerShared]
    shared_at_us: int

    def __post_init__(self) -> None:
        self.sellers = [
            s if isinstance(s, SellerShared) else SellerShared(**s) for s in self.sellers
        ]


@dataclass(slots=True)
class BulkItem:
    item_id: str
    citizen_id: str
    full_name: str
    birth_date: str


@dataclass(slots=True)
class BulkVerificationRequested:
    """Many identity verifications in one record, each answered as a single one would be."""

    request_id: str
    requester: str
    purpose: str
    items: list[BulkItem]
    requested_at_us: int

    def __post_init__(self) -> None:
        self.items = [i if isinstance(i, BulkItem) else BulkItem(**i) for i in self.items]


@dataclass(slots=True)
class BulkItemAnswer:
    item_id: str
    outcome: str  # an Outcome of VERIFY_OUTCOMES
    mismatched_fields: list[str] = field(default_factory=list)
    reason: str = ""
    citizen_version: int = -1


@dataclass(slots=True)
class BulkVerificationAnswered:
    request_id: str
    requester: str
    responder: str
    items: list[BulkItemAnswer]
    answered_at_us: int
    received_at_us: int = 0
    service_us: int = 0  # database time drawn for all its items together

    def __post_init__(self) -> None:
        self.items = [
            i if isinstance(i, BulkItemAnswer) else BulkItemAnswer(**i) for i in self.items
        ]


@dataclass(slots=True)
class SellerReconciled:
    seller_ref: str
    kind: str
    outcome: str  # the registry's answer about the seller's identity
    citizen_version: int = -1


@dataclass(slots=True)
class SellersReconciled:
    """The tax authority's result for one platform share: each seller once, with its answer."""

    share_id: str
    platform: str
    job: str
    sellers: list[SellerReconciled]
    shared_at_us: int
    reconciled_at_us: int
    chunks: int = 1
    resent_chunks: int = 0
    half_answered_chunks: int = 0
    duplicate_answers: int = 0
    # where the share's time went: its last-answered chunk's way through the platform
    taken_at_us: int = 0
    sent_at_us: int = 0
    registry_received_us: int = 0
    registry_answered_us: int = 0
    answered_at_us: int = 0

    def __post_init__(self) -> None:
        self.sellers = [
            s if isinstance(s, SellerReconciled) else SellerReconciled(**s) for s in self.sellers
        ]


Message = (
    VerificationRequested
    | VerificationAnswered
    | LookupRequested
    | LookupAnswered
    | CitizenChanged
    | CivilStatusRegistered
    | DossierSubmitted
    | SharingAudited
    | SellersShared
    | BulkVerificationRequested
    | BulkVerificationAnswered
    | SellersReconciled
)
Request = VerificationRequested | LookupRequested
Answer = VerificationAnswered | LookupAnswered
