"""Consumer-group rebalances wait for the batch in hand, so it is committed before it moves."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import ConsumerRebalanceListener, TopicPartition

log = logging.getLogger("ndx.kafka")


class BatchFence(ConsumerRebalanceListener):  # type: ignore[misc]
    """Knows whether fetched records are still uncommitted; revocation waits (bounded) for them.

    Without it a member joining or leaving mid-batch makes the batch's commit fail and its
    records go to the new owner, to be answered a second time.
    """

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.draining = False  # a revocation waits: the loop commits what it holds, then reads
        self._idle = asyncio.Event()
        self._idle.set()

    def taken(self) -> None:
        self._idle.clear()

    def done(self) -> None:
        self._idle.set()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked or self._idle.is_set():
            return
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), self.limit_s)
        except TimeoutError:
            log.warning("rebalance went ahead after %.0fs with a batch uncommitted", self.limit_s)
        finally:
            self.draining = False

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
