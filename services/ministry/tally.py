"""What a subscribing ministry counts once a change delivery's batch is committed."""

from __future__ import annotations

from functools import partial

from services.loop import Outgoing, Tally
from services.process import metrics
from services.wire import CitizenChanged, Message

PROVIDER = "registry"


def tally_change(message: Message, outs: list[Outgoing], seconds: float, ministry: str) -> None:
    """Each delivery of a change to a subscriber is one sharing transaction."""
    if isinstance(message, CitizenChanged):
        metrics.transactions(ministry, PROVIDER, "change", message.change, "requester").inc()


def tally_for(ministry: str) -> Tally:
    return partial(tally_change, ministry=ministry)
