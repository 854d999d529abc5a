"""The one routing table: topic names, their message, schema and layout, kept as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from services.config import Topics
from services.wire import messages as m

NAMESPACE = "vn.gov.ndx"
REPLY_PREFIX = "ndx.replies."


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    message: type | None
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


# Request and reply records carry the broker's append time, not the producer's (see stamps.py).
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}
VERIFY = TopicSpec("ndx.verify.requests", m.VerificationRequested, 6, APPEND_TIME)
LOOKUP = TopicSpec("ndx.lookup.requests", m.LookupRequested, 6, APPEND_TIME)
CHANGES = TopicSpec(
    "ndx.registry.changes",
    m.CitizenChanged,
    3,
    {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1", "segment.ms": "60000"},
)
CIVIL = TopicSpec("ndx.civil.events", m.CivilStatusRegistered, 3)
DOSSIERS = TopicSpec("ndx.dossiers", m.DossierSubmitted, 3)
AUDIT = TopicSpec("ndx.audit", m.SharingAudited, 3)
DLQ = TopicSpec("ndx.dlq", None, 1)
# Directive 18's bulk sharing: platforms hand sellers to the tax authority, which verifies them
# in bulk on the shared request topic or on a lane of their own, and publishes what it found.
SELLERS = TopicSpec("ndx.tax.sellers", m.SellersShared, 3)
BULK = TopicSpec("ndx.verify.bulk", m.BulkVerificationRequested, 6, APPEND_TIME)
RECONCILED = TopicSpec("ndx.tax.reconciled", m.SellersReconciled, 3)
BULK_REPLY_SUFFIX = ".bulk"
# The load driver's name spaces: the topics (`ndx.run.*`) and consumer groups (`ndx.workers.*`)
# the ACL table grants it. Its workers' own topics are the load side's
# (loadtests/stack/runtopics.py); the one the services read is CONTROL.
RUN_TOPIC_PREFIX = "ndx.run."
DRIVER_GROUP_PREFIX = "ndx.workers."
# The run under way, announced by its coordinator: a registry joins only a run it agrees with.
CONTROL = TopicSpec(RUN_TOPIC_PREFIX + "control", None, 1, {"cleanup.policy": "compact"})

FIXED_TOPICS: tuple[TopicSpec, ...] = (
    VERIFY,
    LOOKUP,
    CIVIL,
    CHANGES,
    DOSSIERS,
    AUDIT,
    DLQ,
    CONTROL,
    SELLERS,
    BULK,
    RECONCILED,
)
REPLY_PARTITIONS = 2

# Message class -> Avro full name; the codec resolves schemas through this map.
SCHEMA_OF: dict[type, str] = {
    cls: f"{NAMESPACE}.{cls.__name__}"
    for cls in (
        m.VerificationRequested,
        m.VerificationAnswered,
        m.LookupRequested,
        m.LookupAnswered,
        m.CitizenChanged,
        m.CivilStatusRegistered,
        m.DossierSubmitted,
        m.SharingAudited,
        m.SellersShared,
        m.BulkVerificationRequested,
        m.BulkVerificationAnswered,
        m.SellersReconciled,
    )
}

# Request message -> the topic it travels on; answers go to the requester's reply topic.
REQUEST_TOPIC: dict[type, TopicSpec] = {m.VerificationRequested: VERIFY, m.LookupRequested: LOOKUP}

# Message -> the one topic it may arrive on (messages not listed go to per-agency topics).
TOPIC_OF: dict[type, TopicSpec] = {
    spec.message: spec
    for spec in (VERIFY, LOOKUP, CIVIL, CHANGES, DOSSIERS, AUDIT, SELLERS, RECONCILED)
    if spec.message is not None
}
# A bulk request travels on the lane its design chose: the shared request topic or its own.
LANE_TOPIC: dict[str, TopicSpec] = {"shared": VERIFY, "separate": BULK}

# Request message -> flow label used in metrics, audit and reports.
FLOW_OF: dict[type, str] = {m.VerificationRequested: "verify", m.LookupRequested: "lookup"}


def reply_topic(agency: str) -> str:
    """Each requester reads only its own replies, so ACLs can confine it."""
    return REPLY_PREFIX + agency


def bulk_reply_topic(agency: str) -> str:
    """Bulk answers on a topic of their own, beside the agency's interactive replies."""
    return REPLY_PREFIX + agency + BULK_REPLY_SUFFIX


def reply_spec(agency: str, partitions: int = REPLY_PARTITIONS) -> TopicSpec:
    return TopicSpec(reply_topic(agency), None, partitions, APPEND_TIME)


def topics_for(
    agencies: list[str], layout: Topics | None = None, bulk_by: Sequence[str] = ()
) -> list[TopicSpec]:
    """Every topic the services of a run over these agencies need, partitioned as the design
    says (the load driver's own come from loadtests/stack/runtopics.py)."""
    layout = layout or Topics()
    sized = {
        VERIFY.name: layout.requests,
        LOOKUP.name: layout.requests,
        CIVIL.name: layout.civil,
        CHANGES.name: layout.changes,
        DOSSIERS.name: layout.dossiers,
        AUDIT.name: layout.audit,
        BULK.name: layout.requests,
    }
    fixed = [replace(t, partitions=sized.get(t.name, t.partitions)) for t in FIXED_TOPICS]
    bulk = [TopicSpec(bulk_reply_topic(a), None, layout.replies, APPEND_TIME) for a in bulk_by]
    return [*fixed, *(reply_spec(a, layout.replies) for a in agencies), *bulk]


# Consumer groups and the name spaces ACLs grant; the services take them from here.
REGISTRY_GROUP = "ndx.registry"
BULK_GROUP = "ndx.registry.bulk"  # registry instances of a separate bulk lane
TAX_GROUP = "ndx.tax.reconcile"  # the tax authority's reconcilers share the platforms' batches
RECONCILED_GROUP_PREFIX = "ndx.workers.reconciled."  # the load driver's reader of the results
MONITOR_GROUP_PREFIX = "ndx.monitor."
CHANGES_GROUP_PREFIX = "ndx.changes."


def change_group(ministry: str) -> str:
    """Each subscriber reads every change, so each has a consumer group of its own."""
    return CHANGES_GROUP_PREFIX + ministry
