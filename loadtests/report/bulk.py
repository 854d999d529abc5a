"""Bulk sharing in the report: each reconciliation job judged item by item, the broker's
throttle per principal, and the registry's load by lane."""

from __future__ import annotations

from pydantic import Field

from loadtests.report.base import Latency, Part, Sparse

__all__ = ["BulkJobReport", "BulkReport", "LaneLoad", "ThrottleReport", "WrongItem"]


class WrongItem(Part):
    """A seller answered wrongly: its platform's reference (never a citizen id), the answer the
    truth asks for and the one given."""

    seller_ref: str
    expected: str
    got: str


class BulkJobReport(Sparse):
    """One reconciliation job: every seller shared, answered once and right, by its deadline."""

    name: str
    period: str
    items: int
    individuals: int
    enterprises: int
    shares: int
    answered: int
    correct: int
    incorrect: int
    lost: int = Field(description="Sellers shared with no answer by the end of the run.")
    duplicates: int = Field(description="Sellers answered more than once (counted once).")
    strays: int = Field(0, description="Reconciled sellers this job never shared.")
    resent_chunks: int = 0
    half_answered_chunks: int = 0
    duplicate_answers: int = 0
    chunks: int = 0
    submitted_at_s: float = Field(description="Seconds into the run the first share was sent.")
    completed_s: float | None = Field(None, description="Submit to the last seller answered.")
    deadline_s: float
    met_deadline: bool
    items_per_s: float | None = None
    outcomes: dict[str, int] = Field(default_factory=dict)
    taxable: dict[str, int] = Field(
        default_factory=dict, description="Sellers found taxable by kind, the driver's count."
    )
    wrong: list[WrongItem] = Field(default_factory=list)
    share_latency_ms: Latency | None = Field(
        None, description="A platform share, from its send to the tax authority's result."
    )
    hops_ms: dict[str, Latency] = Field(
        default_factory=dict,
        description="Where a share's time went: sharing, pacing, request, registry, reply, "
        "publish (each share's hops add up to its whole time).",
    )


class ThrottleReport(Part):
    """What the broker's quota did to one principal, from its quota metrics."""

    principal: str
    kind: str
    peak_ms: float
    mean_ms: float
    seconds_throttled: int


class LaneLoad(Part):
    """Transactions the registry answered, by lane and kind, from its own counters."""

    lane: str
    interactive: float
    bulk: float


class BulkReport(Sparse):
    """The run's bulk side: the design's choices, the jobs, throttling and the lanes' load."""

    lane: str
    chunk: int
    rate_per_s: float | None = None
    quotas: dict[str, dict[str, float]] = Field(default_factory=dict)
    jobs: list[BulkJobReport] = Field(default_factory=list)
    throttle: list[ThrottleReport] = Field(default_factory=list)
    lanes: list[LaneLoad] = Field(default_factory=list)
    taxable_counted: dict[str, float] = Field(
        default_factory=dict,
        description="Taxable sellers by kind, from the tax authority's counters.",
    )
    bulk_items_counted: float | None = Field(
        None, description="Bulk items the registry answered, from its own counters."
    )
    registry_outcomes: dict[str, float] = Field(
        default_factory=dict, description="The registry's bulk answers by outcome, its counters."
    )
