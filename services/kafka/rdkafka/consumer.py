"""A librdkafka consumer behind the Consumer protocol: its one poller thread makes every
call on the consumer (fetches, commits, seeks, rebalances drained first) and hands the
event loop records in batches, through the process's one hand-over."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer as RdConsumer
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from services.kafka.admin import rdkafka_error
from services.kafka.client import ClientTuning
from services.kafka.group import Drain
from services.kafka.rdkafka.common import (
    CONSUMER_WAIT_S,
    FETCH_BATCH,
    HIGH_WATER,
    IDLE_AFTER_S,
    IDLE_WAIT_S,
    LAG_EVERY_S,
    LOST_COMMIT,
    REVOKE_WAIT_S,
    Handover,
    client_config,
    error_code,
    fail,
    handover,
    log,
    no_contact,
    succeed,
)
from services.kafka.transport import (
    Record,
    TransportError,
)
from services.security import ClientSecurity


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A fetched record with the attributes of the Record protocol."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int


def _headers(msg: Message) -> tuple[tuple[str, bytes], ...]:
    raw = msg.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return tuple((k, v.encode() if isinstance(v, str) else v or b"") for k, v in pairs)


def _record(msg: Message) -> _Fetched:
    return _Fetched(
        msg.topic() or "",
        msg.partition() or 0,
        msg.offset() or 0,
        msg.key(),
        msg.value(),
        _headers(msg),
        msg.timestamp()[1],
    )


class NativeConsumer:
    """A group member (cooperative-sticky) or, with no group, the reader of every partition.

    confluent-kafka lets one thread at a time into a consumer, and a fetch holds it while it
    waits: so every call on the consumer is made by its poller thread, which fetches, runs
    what the loop asks of it (commits, seeks, offsets) between two fetches, runs rebalances
    (awaiting the loop's drain before partitions move, committing for it meanwhile) and
    pauses fetching while the loop holds many records not yet taken."""

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None,
        from_beginning: bool,
        tuning: ClientTuning,
        security: ClientSecurity | None = None,
    ) -> None:
        self.bootstrap, self.topics, self.group_id = bootstrap, list(topics), group_id
        self.security, self.tuning = security, tuning
        self.client_id, self.from_beginning = client_id, from_beginning
        self.connect_timeout = tuning.connect_timeout
        self._door: Handover | None = None  # the loop's, from start()
        self._drain: Drain | None = None
        self._lock = threading.Lock()
        self._owned: set[tuple[str, int]] = set()  # guarded by _lock
        self._highs: dict[tuple[str, int], int] = {}  # last known end offsets; guarded by _lock
        self._buffered = 0  # records handed to the loop, not yet taken; guarded by _lock
        self._want_paused = False
        self._closing = threading.Event()
        self._wake = threading.Event()  # a command waits (read while a rebalance waits)
        self._thread: threading.Thread | None = None
        self._commands: deque[_Command] = deque()
        self._records: deque[_Fetched] = deque()
        self._arrived = asyncio.Event()
        self._next: dict[tuple[str, int], int] = {}
        self._refused: TransportError | None = None

    def _config(self) -> dict[str, Any]:
        t = self.tuning
        reset = "earliest" if self.from_beginning or self.group_id else "latest"
        return {
            **client_config(self.bootstrap, self.client_id, t, self.security),
            # librdkafka wants a group even when assigning by hand; no such group is ever joined
            "group.id": self.group_id or f"{self.client_id}.unjoined",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": reset,
            "fetch.wait.max.ms": t.fetch_max_wait_ms,
            "fetch.min.bytes": t.fetch_min_bytes,
            "max.partition.fetch.bytes": t.max_partition_fetch_bytes,
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 1000,
            "partition.assignment.strategy": "cooperative-sticky",
            "error_cb": self._error,
        }

    def _error(self, err: KafkaError) -> None:
        log.debug("%s: %s", self.client_id, err.str())

    async def start(self) -> None:
        self._door = handover()
        started: asyncio.Future[None] = self._door.loop.create_future()
        self._closing.clear()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="rdkafka-consumer", daemon=True
        )
        self._thread.start()
        try:
            await started
        except BaseException:
            await self.stop()
            raise

    async def _ask(self, work: Callable[[RdConsumer], Any]) -> Any:
        """Have the poller thread run `work` on the consumer between two fetches."""
        if self._thread is None or self._door is None:
            raise TransportError(f"{self.client_id}: consumer not started")
        done: asyncio.Future[Any] = self._door.loop.create_future()
        self._commands.append(_Command(work, done))
        self._wake.set()
        return await done

    # --- the poller thread -------------------------------------------------------------

    def _run(self, started: asyncio.Future[None]) -> None:
        door = self._door
        assert door is not None
        c = RdConsumer(self._config())
        try:
            self._join(c)
        except BaseException as exc:
            error = exc if isinstance(exc, TransportError) else TransportError(str(exc))
            with contextlib.suppress(Exception):
                c.close()
            door.put(fail, started, error)
            return
        door.put(succeed, started, None)
        try:
            self._fetch(c)
        finally:
            for command in self._commands:
                door.put(fail, command.done, TransportError(f"{self.client_id}: stopped"))
            self._commands.clear()
            with contextlib.suppress(Exception):
                c.close()

    def _join(self, c: RdConsumer) -> None:
        try:
            metadata = c.list_topics(None, self.connect_timeout)
        except KafkaException as exc:
            raise no_contact(exc, self.bootstrap) from None
        if self.group_id is None:
            self._assign_all(c, metadata)
        else:
            c.subscribe(
                self.topics,
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )

    def _assign_all(self, c: RdConsumer, metadata: Any) -> None:
        """Own every partition with no group, positions resolved before start() returns."""
        missing = [t for t in self.topics if t not in metadata.topics]
        if missing:
            raise TransportError(f"topics {missing} do not exist on {self.bootstrap}")
        parts: list[TopicPartition] = []
        for topic in self.topics:
            for number in sorted(metadata.topics[topic].partitions):
                tp = TopicPartition(topic, number)
                try:
                    low, high = c.get_watermark_offsets(tp, self.connect_timeout)
                except KafkaException as exc:
                    raise rdkafka_error(exc, f"reading {topic}") from None
                start = low if self.from_beginning else high
                parts.append(TopicPartition(topic, number, start))
                self._next[(topic, number)] = start
        c.assign(parts)
        with self._lock:
            self._owned = {(p.topic, p.partition) for p in parts}

    def _serve(self, c: RdConsumer) -> bool:
        """Run what the loop asked for; True when there was something."""
        self._wake.clear()
        door = self._door
        assert door is not None
        asked = bool(self._commands)
        while self._commands:
            command = self._commands.popleft()
            try:
                result = command.work(c)
            except KafkaException as exc:
                error = rdkafka_error(exc, self.client_id)
                error.__cause__ = exc
                door.put(fail, command.done, error)
            except Exception as exc:
                door.put(fail, command.done, exc)
            else:
                door.put(succeed, command.done, result)
        return asked

    def _fetch(self, c: RdConsumer) -> None:
        door = self._door
        assert door is not None
        paused: list[TopicPartition] = []
        noted = 0.0
        busy = time.monotonic()  # when it last fetched a record or ran an ask
        while not self._closing.is_set():
            if self._serve(c):
                busy = time.monotonic()
            with self._lock:
                hold = self._want_paused or self._buffered >= HIGH_WATER
            if hold:
                fresh = [tp for tp in c.assignment() if tp not in paused]
                if fresh:
                    c.pause(fresh)
                    paused += fresh
            elif paused:
                with contextlib.suppress(KafkaException):
                    c.resume(paused)
                paused = []
            idle = time.monotonic() - busy > IDLE_AFTER_S
            try:  # returns at the first record: no record waits for more
                first = c.poll(IDLE_WAIT_S if idle else CONSUMER_WAIT_S)
                msgs = [first, *c.consume(FETCH_BATCH, 0)] if first is not None else []
            except (KafkaException, RuntimeError) as exc:
                log.debug("%s: %s", self.client_id, exc)
                continue
            if (now := time.monotonic()) - noted > LAG_EVERY_S:
                noted = now
                self._note_ends(c)
            if msgs:
                busy = now
            batch = self._records_of(msgs)
            if batch:
                with self._lock:
                    self._buffered += len(batch)
                door.put(self._arrive, batch)

    def _records_of(self, msgs: list[Message]) -> list[_Fetched]:
        batch: list[_Fetched] = []
        for msg in msgs:
            err = msg.error()
            if err is None:
                batch.append(_record(msg))
            elif err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED or (
                # a consumer with no group never uses the group librdkafka insists on
                err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED and self.group_id is not None
            ):
                refused = rdkafka_error(KafkaException(err), f"{self.client_id}: reading")
                assert self._door is not None
                self._door.put(self._refuse, refused)
            elif err.code() != KafkaError._PARTITION_EOF:
                log.debug("%s: %s", self.client_id, err.str())
        return batch

    def _note_ends(self, c: RdConsumer) -> None:
        """End offsets as last fetched (no request), for lag()."""
        highs: dict[tuple[str, int], int] = {}
        for tp in c.assignment():
            with contextlib.suppress(KafkaException):
                _low, high = c.get_watermark_offsets(tp, cached=True)
                if high >= 0:
                    highs[(tp.topic, tp.partition)] = high
        with self._lock:
            self._highs = highs

    def _on_assign(self, c: RdConsumer, parts: list[TopicPartition]) -> None:
        with self._lock:
            self._owned |= {(p.topic, p.partition) for p in parts}

    def _on_revoke(self, c: RdConsumer, parts: list[TopicPartition]) -> None:
        gone = {(p.topic, p.partition) for p in parts}
        door = self._door
        if door is not None and gone and not self._closing.is_set():
            door.put(self._forget, gone)
            if self._drain is not None:
                self._await_drain(c, door.loop)
        with self._lock:
            self._owned -= gone

    def _await_drain(self, c: RdConsumer, loop: asyncio.AbstractEventLoop) -> None:
        """Wait (bounded) for the loop's drain, running its commits meanwhile."""
        try:
            drained = asyncio.run_coroutine_threadsafe(self._drained(), loop)
        except RuntimeError:
            return
        deadline = time.monotonic() + REVOKE_WAIT_S + 1
        while not drained.done() and time.monotonic() < deadline:
            self._serve(c)
            self._wake.wait(0.05)
        self._serve(c)
        if not drained.done():
            log.warning("rebalance went ahead with outputs uncommitted")
        elif (exc := drained.exception()) is not None:
            log.warning("rebalance went ahead; draining failed (%s)", type(exc).__name__)

    def _on_lost(self, c: RdConsumer, parts: list[TopicPartition]) -> None:
        gone = {(p.topic, p.partition) for p in parts}
        with self._lock:
            self._owned -= gone
        if self._door is not None:
            self._door.put(self._forget, gone)

    async def _drained(self) -> None:
        assert self._drain is not None
        try:
            await asyncio.wait_for(self._drain(), REVOKE_WAIT_S)
        except TimeoutError:
            log.warning("rebalance went ahead after %.0fs with outputs uncommitted", REVOKE_WAIT_S)

    # --- on the loop -------------------------------------------------------------------

    def _arrive(self, batch: list[_Fetched]) -> None:
        with self._lock:
            owned = set(self._owned)
        kept = [r for r in batch if (r.topic, r.partition) in owned]
        self._taken(len(batch) - len(kept))
        self._records.extend(kept)
        if kept:
            self._arrived.set()

    def _refuse(self, error: TransportError) -> None:
        self._refused = error
        self._arrived.set()

    def _forget(self, gone: set[tuple[str, int]]) -> None:
        """Records of partitions no longer owned (or read again) are never handed out."""
        kept = [r for r in self._records if (r.topic, r.partition) not in gone]
        self._taken(len(self._records) - len(kept))
        self._records = deque(kept)
        for tp in gone:
            self._next.pop(tp, None)

    def _taken(self, n: int) -> None:
        if n:
            with self._lock:
                self._buffered -= n

    async def stop(self) -> None:
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            thread, self._thread = self._thread, None
            await asyncio.to_thread(thread.join)

    async def getmany(self, timeout_ms: int, max_records: int) -> list[Record]:
        if not self._records and self._refused is None:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout_ms / 1000)
        if self._refused is not None:
            refused, self._refused = self._refused, None
            raise refused
        out: list[Record] = []
        while self._records and len(out) < max_records:
            r = self._records.popleft()
            self._next[(r.topic, r.partition)] = r.offset + 1
            out.append(r)
        self._taken(len(out))
        return out

    async def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> bool:
        """Commit what was read (or the given next offsets) of the partitions still owned;
        False when a rebalance took some of them (their new owner reads them again)."""
        given = dict(self._next) if offsets is None else dict(offsets)
        with self._lock:
            owned = set(self._owned)
        mine = [TopicPartition(t, p, o) for (t, p), o in given.items() if (t, p) in owned]
        kept = len(mine) == len(given)
        if mine:
            try:
                answer = await self._ask(lambda c: c.commit(offsets=mine, asynchronous=False))
            except TransportError as exc:
                err = exc.__cause__ or exc.__context__
                code = error_code(err)
                if code in LOST_COMMIT:
                    log.warning("%s: commit lost to a rebalance (%s)", self.client_id, exc)
                    return False
                if code != KafkaError._NO_OFFSET:
                    raise
                answer = []
            for tp in answer or ():
                if tp.error is not None:
                    log.warning("%s: commit lost (%s)", self.client_id, tp.error.str())
                    return False
        if not kept:
            log.warning("%s: commit lost to a rebalance", self.client_id)
        return kept

    def before_revoke(self, drain: Drain) -> None:
        self._drain = drain

    def lag(self) -> dict[str, int]:
        with self._lock:
            highs = dict(self._highs)
        out: dict[str, int] = {}
        for tp, high in highs.items():
            pos = self._next.get(tp)
            if pos is not None:
                out[tp[0]] = out.get(tp[0], 0) + max(0, high - pos)
        return out

    async def rewind(self) -> None:
        """Back to each owned partition's committed offset (the beginning without one); the
        poller seeks between fetches, so no record fetched before the seek is handed out."""
        limit = self.connect_timeout

        def seek(c: RdConsumer) -> dict[tuple[str, int], int]:
            positions: dict[tuple[str, int], int] = {}
            parts = c.assignment()
            for tp in c.committed(parts, limit) if parts else []:
                start = tp.offset
                if start < 0:
                    start, _high = c.get_watermark_offsets(tp, limit)
                c.seek(TopicPartition(tp.topic, tp.partition, start))
                positions[(tp.topic, tp.partition)] = start
            return positions

        positions: dict[tuple[str, int], int] = await self._ask(seek)
        self._forget(set(positions))
        self._next.update(positions)

    async def at_end(self) -> bool:
        with self._lock:
            owned = sorted(self._owned)
        unread = {(r.topic, r.partition) for r in self._records}
        if any(tp in unread for tp in owned):
            return False
        if not owned:
            return True
        known = {tp: self._next[tp] for tp in owned if tp in self._next}
        limit = self.connect_timeout

        def read_to_end(c: RdConsumer) -> bool:
            for topic, number in owned:
                tp = TopicPartition(topic, number)
                low, high = c.get_watermark_offsets(tp, limit)
                pos = known.get((topic, number), -1)
                if pos < 0:
                    pos = c.position([tp])[0].offset
                if pos < 0:
                    pos = c.committed([tp], limit)[0].offset
                if pos < 0:
                    pos = low
                if pos < high:
                    return False
            return True

        answer: bool = await self._ask(read_to_end)
        return answer

    def assigned(self) -> bool:
        with self._lock:
            return bool(self._owned)

    def pause(self) -> None:
        with self._lock:
            self._want_paused = True

    def resume(self) -> None:
        with self._lock:
            self._want_paused = False


@dataclass(frozen=True, slots=True)
class _Command:
    """Work for a consumer's poller thread, and the loop's future for its answer."""

    work: Callable[[RdConsumer], Any]
    done: asyncio.Future[Any]
