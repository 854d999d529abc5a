"""Records in hand between reading and commit: each taken up at once, its outputs sent the moment
it is decided, offsets committed per partition below the first record not yet durable."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.kafka import Consumer, Producer, Record
from services.loop.counting import count, remember
from services.loop.deadletters import DeadLetters
from services.loop.decide import Decider, Tally
from services.loop.handled import Handled
from services.loop.rereads import Rereads, describe
from services.process import MONOTONIC, Clock, metrics, wait_event
from services.wire import Codec

__all__ = ["DELIVERY_LIMIT_S", "InHand", "Window"]

log = logging.getLogger("ndx.runtime")
DELIVERY_LIMIT_S = 60.0  # outputs not durable by then are written again after a rewind

Part = tuple[str, int]
Link = tuple[asyncio.Future[None] | None, asyncio.Future[None] | None]


@dataclass(slots=True, eq=False)
class InHand:
    """One record read and not yet committed: decided, then sent, then durable (or failed)."""

    rec: Record
    handled: Handled | None = None
    deliveries: list[asyncio.Future[Any]] = field(default_factory=list)
    refused: BaseException | None = None  # an output refused before it left

    def done(self) -> bool:
        if self.refused is not None:
            return True
        return self.handled is not None and all(d.done() for d in self.deliveries)

    def error(self) -> BaseException | None:
        """Why its outputs are not durable (once done); None when they all are."""
        if self.refused is not None:
            return self.refused
        for d in self.deliveries:
            if d.cancelled():
                return asyncio.CancelledError()
            if (exc := d.exception()) is not None:
                return exc
        return None

    async def wait(self, limit_s: float) -> None:
        """Until every delivery settles, failed or not; an overdue one counts as failed."""
        if not self.deliveries:
            return
        _, late = await asyncio.wait(self.deliveries, timeout=limit_s)
        for d in late:
            d.cancel()

    def abandon(self) -> None:
        """Deliveries nobody will wait for again: their failures are not reported twice."""
        for d in self.deliveries:
            d.add_done_callback(lambda done: done.cancelled() or done.exception())


class Window:
    """A bounded window of records in hand, as a real service takes requests up: with
    `concurrent` handlers every record starts at once (its handler waits for a database slot,
    first come first served) and is sent when decided, whatever the records around it do;
    without, records are decided one after the other as they come. Records of an `ordered`
    topic wait for the one before them with the same key. Only durable records are committed,
    each partition up to its first record not yet durable, and only committed records are
    counted, so a record read again counts once."""

    def __init__(
        self,
        service: str,
        consumer: Consumer,
        producer: Producer,
        codec: Codec,
        decider: Decider,
        tally: Tally,
        rereads: Rereads,
        concurrent: bool,
        commit_interval_s: float,
        limit: int,
        ordered: Collection[str] = (),
        clock: Clock = MONOTONIC,
    ) -> None:
        self.service, self.consumer, self.producer, self.codec = service, consumer, producer, codec
        self.decider, self.dedup, self.tally, self.rereads = decider, decider.dedup, tally, rereads
        self.concurrent, self.commit_interval_s = concurrent, commit_interval_s
        self.limit, self.ordered = max(1, limit), frozenset(ordered)
        self.clock = clock
        self.letters = DeadLetters(producer, service)
        self.handled = 0
        self.stop = asyncio.Event()
        self.last_commit = self.clock.now()
        self._parts: dict[Part, deque[InHand]] = {}
        self._held = 0  # records in hand, durable ones not yet committed included
        self._undecided = 0  # records waiting for a slot or in service
        self._durable: list[InHand] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._chains: dict[tuple[str, bytes], asyncio.Future[None]] = {}
        self._progress = asyncio.Event()  # a record was decided or its outputs settled
        self._gauge = metrics.IN_HAND.labels(service)

    @property
    def held(self) -> int:
        """Records read and not yet committed."""
        return self._held

    def room(self) -> int:
        """How many more records to read: the window bounds those not yet decided, and a
        backlog of decided records awaiting their commit is bounded too."""
        return min(self.limit - self._undecided, self.backlog_limit - self._held)

    @property
    def backlog_limit(self) -> int:
        return max(self.limit * 4, 1000)

    async def progress(self, timeout_s: float) -> None:
        """Until something in hand moves on (or the timeout), so the reader can read again."""
        self._progress.clear()
        await wait_event(self.clock, self._progress, timeout_s)

    async def take(self, records: Sequence[Record]) -> None:
        """Take records up: each handled now (or queued for a slot), its outputs sent when
        decided. Records that keep failing are taken one at a time instead."""
        if self.rereads.must_split(records):
            if await self.settle(everything=True):
                await self._split(records)
            return
        for rec in records:
            entry = InHand(rec)
            self._parts.setdefault((rec.topic, rec.partition), deque()).append(entry)
            self._held += 1
            self._undecided += 1
            after = self._chain(rec)
            if self.concurrent:
                task = asyncio.create_task(self._handle(entry, after))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                await self._handle(entry, after)
        self._gauge.set(self._held)

    def _chain(self, rec: Record) -> Link:
        """For a record of an ordered topic: the decision to wait for, and its own."""
        if rec.topic not in self.ordered or rec.key is None:
            return None, None
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        link = (rec.topic, rec.key)
        before = self._chains.get(link)
        self._chains[link] = mine
        mine.add_done_callback(lambda _f: self._unlink(link, mine))
        return before, mine

    def _unlink(self, link: tuple[str, bytes], mine: asyncio.Future[None]) -> None:
        if self._chains.get(link) is mine:
            del self._chains[link]

    async def _handle(self, entry: InHand, after: Link) -> None:
        before, mine = after
        try:
            if before is not None:
                await asyncio.shield(before)
            entry.handled = await self.decider.decide(entry.rec)
            entry.deliveries = await self._send(entry.handled)
        except Exception as exc:  # refused before it left
            entry.refused = exc
        finally:
            self._undecided -= 1
            if mine is not None and not mine.done():
                mine.set_result(None)
        self._progress.set()
        for d in entry.deliveries:
            d.add_done_callback(self._settled)

    def _settled(self, _delivery: asyncio.Future[Any]) -> None:
        self._progress.set()

    async def settle(self, everything: bool = False, now: bool = False) -> bool:
        """Move each partition's durable records on and commit when due (at once when `now`);
        with `everything`, first wait until all in hand is decided and settled. Returns False
        when a failure made the loop go back to its last commit."""
        if everything:
            await self._wait_all()
        for part in list(self._parts):
            queue = self._parts[part]
            while queue and queue[0].done():
                entry = queue[0]
                if (exc := entry.error()) is not None:
                    await self._abandon(self._restart_records(part), exc)
                    return False
                queue.popleft()
                self._durable.append(entry)
                if entry.handled is not None:
                    remember(self.decider, (entry.handled,))
            if not queue:
                del self._parts[part]
        due = self.clock.now() - self.last_commit >= self.commit_interval_s
        if self._durable and (everything or now or due):
            return await self._commit()
        return True

    async def _wait_all(self) -> None:
        """Every record in hand decided and its outputs settled (overdue ones count as failed)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        for queue in list(self._parts.values()):
            for entry in list(queue):
                await entry.wait(DELIVERY_LIMIT_S)

    async def _commit(self) -> bool:
        durable, self._durable = self._durable, []
        self.last_commit = self.clock.now()
        offsets: dict[Part, int] = {}
        for entry in durable:
            part = (entry.rec.topic, entry.rec.partition)
            offsets[part] = max(offsets.get(part, 0), entry.rec.offset + 1)
        try:
            kept = await self.consumer.commit(offsets)
        except Exception as exc:  # outputs are durable: a re-read repeats them from memory
            self._held -= len(durable)
            await self._abandon([durable[0].rec], exc, outage=True)
            return False
        self._held -= len(durable)
        self._gauge.set(self._held)
        self.rereads.committed([e.rec for e in durable])
        if kept:  # else the partitions' new owner reads and counts them
            handled = [e.handled for e in durable if e.handled is not None]
            count(self.service, self.dedup, self.tally, handled)
            self.handled += len(handled)
        return True

    async def _abandon(
        self, restart: list[Record], exc: BaseException, outage: bool = False
    ) -> None:
        """Go back to the last commit: everything in hand is read again; what became durable
        meanwhile is remembered, so it is repeated rather than decided twice. `restart` is where
        the failed partition is read again from, whose failures are counted."""
        await self._wait_all()
        for queue in self._parts.values():
            for entry in queue:
                if entry.handled is not None and entry.error() is None:
                    remember(self.decider, [entry.handled])
                entry.abandon()
        self._parts, self._durable, self._held, self._undecided = {}, [], 0, 0
        self._gauge.set(0)
        self.decider.fresh = {}
        metrics.BATCH_RETRIES.labels(self.service).inc()
        await self.rereads.again(
            self.consumer, restart, self.service, type(exc).__name__, self.stop, outage, self.clock
        )

    def _restart_records(self, part: Part) -> list[Record]:
        """Where the failed partition is read again from: its first record not committed."""
        first = [e.rec for e in self._durable if (e.rec.topic, e.rec.partition) == part]
        queue = self._parts.get(part)
        if queue:
            first.append(queue[0].rec)
        return sorted(first, key=lambda r: r.offset)[:1]

    async def _split(self, records: Sequence[Record]) -> None:
        """One record at a time, each committed, so the one whose outputs fail is found."""
        log.warning(
            "%s: %s keeps failing; handling its %d records one at a time",
            self.service,
            describe(records),
            len(records),
        )
        for i, rec in enumerate(records):
            entry = InHand(rec)
            try:
                entry.handled = await self.decider.decide(rec)
                entry.deliveries = await self._send(entry.handled)
                await entry.wait(DELIVERY_LIMIT_S)
                exc = entry.error()
            except Exception as refused:  # refused before it left
                exc = refused
            if exc is not None:
                entry.abandon()
                try:
                    await self.letters.refer(rec, "unwritable_output", type(exc).__name__)
                except Exception as away:  # not even a reference: the broker is away
                    await self._abandon(list(records[i:]), away, outage=True)
                    return
                entry.handled, entry.deliveries = Handled(rec, dead="unwritable_output"), []
            assert entry.handled is not None
            remember(self.decider, [entry.handled])
            self._durable.append(entry)
            self._held += 1
            if not await self._commit():
                return
        self.rereads.committed(records)

    async def _send(self, one: Handled) -> list[asyncio.Future[Any]]:
        if one.dead:
            return [await self.letters.queue(one.rec, one.dead, one.detail)]
        outs = one.outs if one.sends is None else one.sends
        return [
            await self.producer.send(o.topic, self.codec.encode(o.message), key=o.key) for o in outs
        ]
