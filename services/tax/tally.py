"""What the tax authority counts once a share's result is durable: each seller once."""

from __future__ import annotations

from services.loop import Outgoing
from services.process import metrics
from services.wire import Message, SellersReconciled

PROVIDER = "registry"
TAXABLE = "MATCH"  # a seller whose identity verifies can be assessed


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
