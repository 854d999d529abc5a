"""Consumer-group rebalances let the loop commit what it holds before its partitions move."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import ConsumerRebalanceListener, TopicPartition

log = logging.getLogger("ndx.kafka")

Drain = Callable[[], Awaitable[None]]


class BatchFence(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions are revoked, awaits the loop's drain (bounded): its outputs in flight
    become durable and are committed, so the new owner does not answer them a second time.

    aiokafka blocks `getmany` while a group reassigns, so the loop cannot notice a rebalance
    itself: the revocation has to call it.
    """

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.drain: Drain | None = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked or self.drain is None:
            return
        try:
            await asyncio.wait_for(self.drain(), self.limit_s)
        except TimeoutError:
            log.warning("rebalance went ahead after %.0fs with outputs uncommitted", self.limit_s)
        except Exception as exc:  # the new owner reads what was not committed
            log.warning("rebalance went ahead; committing first failed (%s)", type(exc).__name__)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
