"""Shares as partitions: the coordinator writes one record per share to its own partition, and
Kafka's group protocol decides which worker holds which; a claim is a committed offset, so a
share's later owner (after a worker died) finds nothing left to play and cannot replay it."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError

from loadtests.workers.workplan import SESSION_TIMEOUT_S, ShareRecord, workers_group
from services.kafka.bus import ClientTuning, sasl_options
from services.process.background import cancel
from services.security.credentials import ClientSecurity
from services.wire.topics import WORK_SHARES

log = logging.getLogger("ndx.worker")


async def write_shares(
    bootstrap: str, tuning: ClientTuning, security: ClientSecurity | None, run_id: str, n: int
) -> None:
    """Share i goes to partition i of the shares topic."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="ndxsim.shares", acks="all", **sasl_options(security)
    )
    await asyncio.wait_for(producer.start(), tuning.connect_timeout)
    try:
        sent = [
            await producer.send(
                WORK_SHARES.name,
                ShareRecord(run_id=run_id, index=i).model_dump_json().encode(),
                key=run_id.encode(),
                partition=i,
            )
            for i in range(n)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


class ShareHolder(ConsumerRebalanceListener):  # type: ignore[misc]
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
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            group_id=workers_group(run_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(SESSION_TIMEOUT_S * 1000),
            heartbeat_interval_ms=1000,
            **sasl_options(security),
        )
        self.connect_timeout = tuning.connect_timeout
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await asyncio.wait_for(self.consumer.start(), self.connect_timeout)
        self.consumer.subscribe([WORK_SHARES.name], listener=self)
        self._task = asyncio.create_task(self._read(), name="shares")

    async def stop(self) -> None:
        await cancel([self._task])
        await self.consumer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for rec in records:
                    try:
                        share = ShareRecord.model_validate_json(rec.value or b"")
                    except ValidationError:
                        continue
                    if share.run_id == self.run_id and self.claimed is None:
                        self.held[tp.partition] = rec.offset

    async def claim(self) -> set[int] | None:
        """Commit past the held shares' records; None when a rebalance took them first."""
        offsets = {TopicPartition(WORK_SHARES.name, p): o + 1 for p, o in self.held.items()}
        try:
            if offsets:
                await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            log.warning("claim lost to a rebalance (%s); trying again", type(exc).__name__)
            return None
        self.claimed = set(self.held)
        return self.claimed

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self.held.pop(tp.partition, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self.claimed is None:
            return
        for tp in assigned:
            if tp.partition < self.shares and tp.partition not in self.claimed:
                log.warning(
                    "share %d reassigned here after the claim: reported, not replayed", tp.partition
                )
                self.taken_over.add(tp.partition)
