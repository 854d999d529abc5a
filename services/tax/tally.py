"""What the tax authority counts once a share's result is durable: each seller once."""

from __future__ import annotations

from services.loop import Outgoing
from services.process import metrics
from services.wire import VERIFY_OUTCOMES, Message, SellersReconciled

PROVIDER = "registry"
TAXABLE = "MATCH"  # a seller whose identity verifies can be assessed


def zero(lane: str, requester: str) -> None:
    """Every series this tally moves, at 0 from the start (a first value is no increase)."""
    for kind in ("INDIVIDUAL", "ENTERPRISE"):
        for result in ("taxable", "unverified"):
            metrics.SELLERS_RECONCILED.labels(kind, result)
    for outcome in VERIFY_OUTCOMES:
        metrics.bulk_items("requester", lane, outcome)
        metrics.transactions(requester, PROVIDER, "bulk", outcome, "requester")


def tally(
    message: Message,
    outs: list[Outgoing],
    seconds: float,
    lane: str = "shared",
    requester: str = "ministry.tax",
) -> None:
    for out in outs:
        found = out.message
        if not isinstance(found, SellersReconciled):
            continue
        for seller in found.sellers:
            metrics.transactions(requester, PROVIDER, "bulk", seller.outcome, "requester").inc()
            metrics.bulk_items("requester", lane, seller.outcome).inc()
            result = "taxable" if seller.outcome == TAXABLE else "unverified"
            metrics.SELLERS_RECONCILED.labels(seller.kind, result).inc()
