"""The design's registry as a queue, per period: its capacity and load, what its metrics saw,
and its measured registry-side time held against an ideal queue fed the same arrivals."""

from __future__ import annotations

from pydantic import Field

from loadtests.report.base import Part, Sparse


class Spread(Part):
    """Two percentiles of one set of times, in milliseconds."""

    p50_ms: float
    p99_ms: float


class SlotsBusy(Sparse):
    """Database slots of every registry instance, and how many held a request: peak and mean
    of the 1 s scrapes over the period's span (its arrivals and their drain)."""

    slots: int | None = None
    peak: float
    mean: float


class QueueLag(Sparse):
    """Requests waiting in Kafka for the registry (its consumer group's lag, every instance
    added) and read but not yet answered (its loops' windows): peaks of the 1 s scrapes over the
    period's span."""

    peak_records: float | None = None
    in_hand_peak: float | None = None


class QueueMeasure(Sparse):
    """What the registry's own metrics said about its queue in one period."""

    slot_wait: Spread | None = None  # from the slot-wait histogram's buckets, interpolated
    waits: int = 0  # requests that took a slot in the period
    slots_busy: SlotsBusy | None = None
    lag: QueueLag | None = None


class QueueReport(Sparse):
    """The registry under the design's service-time model as an M/G/c queue for one period.

    `capacity_tps` is instances × concurrency / the model's mean service time; `offered_tps`
    every attempt the requesters sent to the registry over the period's duration;
    `utilisation` their ratio. `measured` is the registry-side time (the request's broker append,
    taken mid-millisecond, to the registry's answer: the request and registry hops) of the sampled
    transactions; `ideal` their time in a FIFO queue of `servers_per_instance` servers per
    instance fed the same arrivals with the service times the registry drew; `added` = measured
    − ideal, what Kafka and the mimic add. `within`: both percentiles within 10% or 5 ms,
    whichever is larger.
    """

    model: str
    instances: int
    servers_per_instance: int
    request_partitions: int
    mean_service_ms: float
    capacity_tps: float
    offered_tps: float
    utilisation: float
    instances_answering: int | None = None
    busiest_utilisation: float | None = Field(
        None,
        description="The instance that took the largest share of the work, against its own slots.",
    )
    drawn_service_ms: float | None = Field(None, description="Mean of the draws compared.")
    transactions: int = 0  # in the comparison
    sampled_share: float = 1.0  # of the period's time windows kept for the comparison
    measured: Spread | None = None
    ideal: Spread | None = None
    added: Spread | None = None
    within: bool | None = None
    slot_wait: Spread | None = None
    slots_busy: SlotsBusy | None = None
    lag: QueueLag | None = None
    timed_out: int = 0
    late_answers: int = 0
    wasted_share: float | None = Field(
        None,
        description="Of the registry's answers, those that reached a requester that had given up.",
    )
    notes: list[str] = Field(default_factory=list)
