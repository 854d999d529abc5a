"""What the registry counts for a record once its batch is committed: each transaction once."""

from __future__ import annotations

from services.loop import Outgoing
from services.process import metrics
from services.wire import (
    BulkVerificationAnswered,
    CitizenChanged,
    LookupAnswered,
    Message,
    VerificationAnswered,
)

PROVIDER = "registry"
FLOW_OF_ANSWER = {VerificationAnswered: "verify", LookupAnswered: "lookup"}


def tally(message: Message, outs: list[Outgoing], seconds: float, lane: str = "shared") -> None:
    """An answer is a transaction (with the time spent deciding it), each item of a bulk
    answer one of its own; a change is one too."""
    for out in outs:
        made = out.message
        if isinstance(made, VerificationAnswered | LookupAnswered):
            flow = FLOW_OF_ANSWER[type(made)]
            metrics.REGISTRY_PROCESSING.labels(flow).observe(seconds)
            metrics.transactions(made.requester, PROVIDER, flow, made.outcome, "provider").inc()
        elif isinstance(made, BulkVerificationAnswered):
            metrics.REGISTRY_PROCESSING.labels("bulk").observe(seconds / max(1, len(made.items)))
            for item in made.items:
                metrics.transactions(
                    made.requester, PROVIDER, "bulk", item.outcome, "provider"
                ).inc()
                metrics.bulk_items("provider", lane, item.outcome).inc()
        elif isinstance(made, CitizenChanged):
            metrics.CHANGE_EVENTS.labels(made.source, made.change).inc()
            metrics.transactions(made.source, PROVIDER, "civil", made.change, "provider").inc()
