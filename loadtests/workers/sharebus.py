"""Shares as partitions: the coordinator writes one record per share to its own partition, and
Kafka's group protocol decides which worker holds which; a claim is a committed offset, so a
share's later owner (after a worker died) finds nothing left to play and cannot replay it."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError

from loadtests.stack import WORK_SHARES
from loadtests.workers.workplan import SESSION_TIMEOUT_S, ShareRecord, workers_group
from services.kafka import GroupMember, write_to_partitions
from services.kafka.client import ClientTuning
from services.process import cancel
from services.security import ClientSecurity

log = logging.getLogger("ndx.worker")


async def write_shares(
    bootstrap: str, tuning: ClientTuning, security: ClientSecurity | None, run_id: str, n: int
) -> None:
    """Share i goes to partition i of the shares topic."""
    shares = [ShareRecord(run_id=run_id, index=i).model_dump_json().encode() for i in range(n)]
    await write_to_partitions(
        bootstrap,
        security,
        "ndxsim.shares",
        WORK_SHARES.name,
        shares,
        run_id.encode(),
        tuning.connect_timeout,
    )


class ShareHolder:
    """A worker's membership in the run's group: the shares it holds now, and its claim."""

    def __init__(
        self,
        bootstrap: str,
        tuning: ClientTuning,
        security: ClientSecurity | None,
        run_id: str,
        client_id: str,
        shares: int,
    ) -> None:
        self.run_id, self.shares = run_id, shares
        self.held: dict[int, int] = {}  # partition -> offset of this run's share record
        self.claimed: set[int] | None = None
        self.taken_over: set[int] = set()
        self.member = GroupMember(
            bootstrap,
            WORK_SHARES.name,
            workers_group(run_id),
            client_id,
            security,
            tuning.connect_timeout,
            SESSION_TIMEOUT_S,
            on_revoked=self._revoked,
            on_assigned=self._assigned,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.member.start()
        self._task = asyncio.create_task(self._read(), name="shares")

    async def stop(self) -> None:
        await cancel([self._task])
        await self.member.stop()

    async def _read(self) -> None:
        while True:
            for rec in await self.member.getmany(timeout_ms=500):
                try:
                    share = ShareRecord.model_validate_json(rec.value or b"")
                except ValidationError:
                    continue
                if share.run_id == self.run_id and self.claimed is None:
                    self.held[rec.partition] = rec.offset

    async def claim(self) -> set[int] | None:
        """Commit past the held shares' records; None when a rebalance took them first."""
        offsets = {p: o + 1 for p, o in self.held.items()}
        if offsets and not await self.member.commit(offsets):
            log.warning("claim lost to a rebalance; trying again")
            return None
        self.claimed = set(self.held)
        return self.claimed

    def _revoked(self, partitions: set[int]) -> None:
        for p in partitions:
            self.held.pop(p, None)

    def _assigned(self, partitions: set[int]) -> None:
        if self.claimed is None:
            return
        for p in partitions:
            if p < self.shares and p not in self.claimed:
                log.warning("share %d reassigned here after the claim: reported, not replayed", p)
                self.taken_over.add(p)
