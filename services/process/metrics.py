"""Prometheus metrics of every service: base units, bounded labels, never a citizen id."""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from services.config import SettingsError
from services.wire import Stamps, split

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

TRANSACTIONS = Counter(
    "ndx_sharing_transactions",
    "Sharing transactions, counted by each end: observer=requester (timeouts included) or "
    "observer=provider (answers given). Filter on observer to count each transaction once.",
    ["requester", "provider", "flow", "outcome", "observer"],
)
REQUEST_DURATION = Histogram(
    "ndx_request_duration_seconds",
    "End-to-end latency seen by the requester, from the intended send time to the answer.",
    ["requester", "flow"],
    buckets=LATENCY_BUCKETS,
)
HOP_DURATION = Histogram(
    "ndx_hop_duration_seconds",
    "One hop of an answered transaction, seen by the requester: generator (intended -> sent), "
    "request (sent -> registry took it up), registry (its own work), reply (answered -> "
    "received). The four add up to ndx_request_duration_seconds.",
    ["hop", "flow"],
    buckets=(0.0001, 0.0005, *LATENCY_BUCKETS),
)
IN_FLIGHT = Gauge("ndx_requests_in_flight", "Requests sent and not yet answered.", ["requester"])
TIMEOUTS = Counter(
    "ndx_request_timeouts",
    "Requests that got no answer before their deadline.",
    ["requester", "flow"],
)
RETRIES = Counter(
    "ndx_request_retries",
    "Requests sent again after their deadline passed (same request id).",
    ["requester", "flow"],
)
LATE_ANSWERS = Counter(
    "ndx_late_answers",
    "Answers that arrived after their deadline or twice; counted, never applied.",
    ["requester"],
)
REGISTRY_PROCESSING = Histogram(
    "ndx_registry_processing_seconds",
    "Time the registry spent deciding one answer.",
    ["flow"],
    buckets=(0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1),
)
DUPLICATE_REQUESTS = Counter(
    "ndx_duplicate_requests",
    "Requests delivered again and answered from memory instead of twice.",
    ["service"],
)
BATCH_RETRIES = Counter(
    "ndx_batch_retries",
    "Batches read again because their outputs could not be written (e.g. broker away).",
    ["service"],
)
DEAD_LETTERS = Counter(
    "ndx_dead_letters", "Records sent to the dead-letter topic.", ["service", "reason"]
)
DENIED = Counter(
    "ndx_denied",
    "Attempts refused: by the registry (a signature that does not bind the claimed agency) "
    "or by the broker (an authorization error the driver met).",
    ["agency", "action"],
)
SLOTS = Gauge(
    "ndx_registry_slots",
    "Database connections the design gives one registry instance (0: no service-time model).",
    ["service"],
)
SLOTS_BUSY = Gauge(
    "ndx_registry_slots_busy", "Database connections holding a request now.", ["service"]
)
SLOT_WAIT = Histogram(
    "ndx_registry_slot_wait_seconds",
    "Time a request taken up waited for a free database connection.",
    ["service"],
    buckets=(0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SERVICE_TIME = Histogram(
    "ndx_registry_service_seconds",
    "Database service time drawn for one request under the design's model.",
    ["service"],
    buckets=(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1),
)
IN_HAND = Gauge(
    "ndx_loop_records_in_hand",
    "Records a service loop has read and not yet committed (its bounded window).",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "ndx_consumer_lag_records", "Records behind the end of the log.", ["group", "topic"]
)
DOSSIERS = Counter(
    "ndx_dossiers",
    "Public-service dossiers received by provincial portals.",
    ["province", "service", "channel"],
)
CHANGE_EVENTS = Counter(
    "ndx_change_events_published",
    "Citizen changes published by the registry.",
    ["source", "change"],
)
LATE_SENDS = Counter(
    "ndx_driver_late_sends",
    "Scheduled sends that left more than the tolerance after their intended time.",
    ["requester"],
)
AUDIT_RECORDS = Counter(
    "ndx_audit_records", "Audit records read by the monitoring service.", ["flow"]
)
READY = Gauge(
    "ndx_service_ready",
    "1 while the service consumes its partitions and its broker answers; 0 during an outage.",
    ["service"],
)
SCENARIO_PERIOD = Gauge(
    "ndx_scenario_period_active", "1 while the driver plays this period.", ["scenario", "period"]
)

BULK_ITEMS = Counter(
    "ndx_bulk_items",
    "Items of bulk verifications (Directive 18 seller reconciliation), counted by each end: "
    "observer=provider (the registry answered it) or observer=requester (the tax authority "
    "has its answer). lane: shared (the interactive request topic) or separate.",
    ["observer", "lane", "outcome"],
)
BULK_CHUNK_DURATION = Histogram(
    "ndx_bulk_chunk_seconds",
    "One bulk request seen by the tax authority, from sent to answered.",
    ["lane"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
BULK_CHUNKS = Counter(
    "ndx_bulk_chunks",
    "Bulk requests by how they ended: answered; resent (no answer by its deadline); "
    "half_answered (items missing, those sent again); duplicate (answered twice, not applied).",
    ["lane", "result"],
)
BULK_PENDING = Gauge(
    "ndx_bulk_items_pending", "Items the tax authority holds with no answer yet.", ["lane"]
)
SELLERS_RECONCILED = Counter(
    "ndx_tax_sellers_reconciled",
    "Sellers shared by e-commerce platforms that the tax authority reconciled: taxable (the "
    "identity, or the enterprise's legal representative, verified) or unverified.",
    ["kind", "result"],
)


@lru_cache(maxsize=8192)
def transactions(requester: str, provider: str, flow: str, outcome: str, observer: str) -> Counter:
    """The labelled child, looked up once: label sets are few and the hot path is not."""
    return TRANSACTIONS.labels(requester, provider, flow, outcome, observer)


@lru_cache(maxsize=64)
def bulk_items(observer: str, lane: str, outcome: str) -> Counter:
    return BULK_ITEMS.labels(observer, lane, outcome)


@lru_cache(maxsize=2048)
def request_duration(requester: str, flow: str) -> Histogram:
    return REQUEST_DURATION.labels(requester, flow)


@lru_cache(maxsize=64)
def hop_duration(hop: str, flow: str) -> Histogram:
    return HOP_DURATION.labels(hop, flow)


def observe_hops(flow: str, stamps: Stamps) -> None:
    """Each hop of one transaction whose registry said when it took the request up."""
    if (hops := split(stamps)) is not None:
        for hop, us in hops.by_name().items():
            hop_duration(hop, flow).observe(us / 1e6)


def serve(host: str, port: int) -> None:
    """Expose /metrics on a background thread; port 0 means the process serves none."""
    if port:
        try:
            start_http_server(port, addr=host)
        except OSError as exc:  # a name that does not resolve, a port taken or refused
            raise SettingsError(
                f"NDX_METRICS_HOST, NDX_METRICS_PORT: cannot serve /metrics on {host}:{port}: "
                f"{exc.strerror or exc}"
            ) from None
