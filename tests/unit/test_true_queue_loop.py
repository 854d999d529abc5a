"""The service loop is a true queue: each record is taken up when a slot frees and answered the
moment it is decided, a full window leaves the queue in Kafka, and only what is durable is
committed, each partition up to its first record not yet durable."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from services.config.design import ServiceTime
from services.kafka.transport import Consumer, Headers, Producer
from services.kafka.twin import MemoryBus
from services.loop.runtime import Outgoing, ServiceLoop
from services.registry.worktime import Database
from services.wire.codec import Catalogue, Codec
from services.wire.messages import (
    CivilStatusRegistered,
    VerificationAnswered,
    VerificationRequested,
)
from services.wire.topics import CIVIL, VERIFY, reply_topic, topics_for
from tests.support.clock import FakeClock
from tests.support.flaky import FailingCommits
from tests.unit.test_rereads_on_memory_bus import AGENCY, Tallied, request

CODEC = Codec(Catalogue())
Handler = Callable[[Any], Any]


class HeldProducer:
    """The twin's producer whose deliveries resolve only once released: a slow acknowledgement."""

    def __init__(self, inner: Producer) -> None:
        self.inner, self.held = inner, asyncio.Event()

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def flush(self) -> None: ...

    async def send(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        sent = await self.inner.send(topic, value, key, headers)
        return asyncio.ensure_future(self._later(sent))

    async def _later(self, sent: asyncio.Future[Any]) -> Any:
        await self.held.wait()
        return await sent


class CountedCommits(FailingCommits):
    def __init__(self, inner: Consumer) -> None:
        super().__init__(inner, 0)
        self.commits = 0
        self.offsets: list[dict[tuple[str, int], int]] = []

    async def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> bool:
        self.commits += 1
        self.offsets.append(dict(offsets or {}))
        return await super().commit(offsets)


async def answer(req: VerificationRequested) -> list[Outgoing]:
    made = VerificationAnswered(req.request_id, req.requester, "r", "MATCH", 1)
    return [Outgoing(reply_topic(req.requester), made, req.request_id.encode())]


async def filled(
    count: int, names: Callable[[int], str] = lambda _i: "A B"
) -> tuple[MemoryBus, list[VerificationRequested]]:
    bus = MemoryBus()
    await bus.ensure_topics(topics_for([AGENCY]))
    requests = [request(names(i)) for i in range(count)]
    producer = bus.producer("sender")
    for req in requests:
        await producer.send(VERIFY.name, CODEC.encode(req), key=b"one-partition")
    return bus, requests


def replies(bus: MemoryBus) -> list[str]:
    """Request ids whose answers were written so far (partition by partition)."""
    out = []
    for part in bus.topics[reply_topic(AGENCY)]:
        for rec in part:
            out.append(CODEC.decode(rec.value or b"").request_id)  # type: ignore[union-attr]
    return out


async def until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def service_loop(
    name: str, consumer: Consumer, producer: Producer, handler: Handler, **options: Any
) -> ServiceLoop:
    return ServiceLoop(
        name,
        "g." + name,
        consumer,
        producer,
        CODEC,
        {VerificationRequested: handler},
        request_id=lambda m: m.request_id,
        **options,
    )


async def test_the_loop_reads_on_while_earlier_outputs_wait_and_commits_only_once_durable() -> None:
    bus, requests = await filled(20)
    producer = HeldProducer(bus.producer("p"))
    consumer = bus.consumer([VERIFY.name], "c", "g.pipe")
    tally = Tallied()
    loop = service_loop("pipe", consumer, producer, answer, tally=tally, batch=5)
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: sum(consumer.positions.values()) == 20)  # read on: nothing blocks it
    await until(lambda: len(replies(bus)) == 20)  # every answer left once decided
    assert not bus.groups["g.pipe"].committed and not tally.ids  # nothing durable yet
    producer.held.set()
    await until(lambda: loop.handled == 20)
    stop.set()
    await task
    assert max(bus.groups["g.pipe"].committed.values()) == 20
    assert tally.ids == Counter(r.request_id for r in requests)


async def test_on_a_commit_cadence_several_reads_are_committed_together() -> None:
    bus, requests = await filled(100)
    consumer = CountedCommits(bus.consumer([VERIFY.name], "c", "g.cadence"))
    tally = Tallied()
    loop = service_loop(
        "cadence", consumer, bus.producer("p"), answer, tally=tally, batch=10, commit_interval_s=60
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: loop.handled == 100)
    stop.set()
    await task
    assert consumer.commits == 1  # ten reads; once the input ran dry, one commit took them all
    assert max(bus.groups["g.cadence"].committed.values()) == 100
    assert tally.ids == Counter(r.request_id for r in requests)


async def test_handlers_waiting_on_modelled_work_run_side_by_side_up_to_the_concurrency() -> None:
    bus, requests = await filled(40)
    clock = FakeClock()
    database = Database(ServiceTime(model="fixed", ms=20), 4, random.Random(1), "g.work", clock)

    async def worked(req: VerificationRequested) -> list[Outgoing]:
        await database.work()
        return await answer(req)

    tally = Tallied()
    consumer = bus.consumer([VERIFY.name], "c", "g.work")
    loop = service_loop(
        "work",
        consumer,
        bus.producer("p"),
        worked,
        tally=tally,
        batch=40,
        concurrent=True,
        clock=clock,
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await clock.advance_until(lambda: loop.handled == 40)
    stop.set()
    await task
    assert database.peak == 4
    assert tally.ids == Counter(r.request_id for r in requests)


async def test_an_answer_leaves_when_decided_not_when_the_slowest_record_read_with_it_is() -> None:
    bus, requests = await filled(10, names=lambda i: "SLOW" if i == 0 else "A B")
    slow_done = asyncio.Event()
    answered: list[str] = []

    async def handler(req: VerificationRequested) -> list[Outgoing]:
        if req.full_name == "SLOW":
            await slow_done.wait()
        answered.append(req.request_id)
        return await answer(req)

    consumer = CountedCommits(bus.consumer([VERIFY.name], "c", "g.slow"))
    loop = service_loop(
        "slow", consumer, bus.producer("p"), handler, batch=10, concurrent=True, window=10
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: len(replies(bus)) == 9)  # the nine fast ones, the slow one still working
    assert requests[0].request_id not in replies(bus)
    await asyncio.sleep(0.15)  # commits come and go while the first record is still working
    assert not bus.groups["g.slow"].committed  # its partition's first record is not durable
    slow_done.set()
    await until(lambda: loop.handled == 10)
    stop.set()
    await task
    assert answered[-1] == requests[0].request_id
    assert max(bus.groups["g.slow"].committed.values()) == 10


async def test_a_full_window_pauses_reading_so_the_queue_waits_in_kafka() -> None:
    bus, requests = await filled(60)
    clock = FakeClock()
    database = Database(ServiceTime(model="fixed", ms=50), 2, random.Random(1), "g.window", clock)
    answered: list[str] = []

    async def worked(req: VerificationRequested) -> list[Outgoing]:
        await database.work()
        answered.append(req.request_id)
        return await answer(req)

    consumer = bus.consumer([VERIFY.name], "c", "g.window")
    loop = service_loop(
        "window",
        consumer,
        bus.producer("p"),
        worked,
        batch=500,
        concurrent=True,
        window=4,
        clock=clock,
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: consumer.paused)
    read = sum(consumer.positions.values())
    assert read <= 4 + len(replies(bus))  # never more undecided than the window
    assert read < len(requests)  # the rest still waits in the topic
    await clock.advance_until(lambda: loop.handled == 60)
    stop.set()
    await task
    assert database.peak == 2
    position = {rid: i for i, rid in enumerate(answered)}
    # First come, first served: two served side by side may finish either way round.
    assert all(abs(position[r.request_id] - i) < 2 for i, r in enumerate(requests))


async def test_one_citizens_civil_events_are_decided_in_order_while_requests_overtake() -> None:
    bus = MemoryBus()
    await bus.ensure_topics(topics_for([AGENCY]))
    sender = bus.producer("sender")
    events = [
        CivilStatusRegistered(f"e-{i}", "001090000001", "DEATH", "ministry.justice", i)
        for i in range(5)
    ]
    for event in events:
        await sender.send(CIVIL.name, CODEC.encode(event), key=b"001090000001")
    decided: list[str] = []
    clock = FakeClock()

    async def civil(event: CivilStatusRegistered) -> list[Outgoing]:
        await clock.sleep(0.05 if event.event_id == "e-0" else 0.0)  # the first one is slow
        decided.append(event.event_id)
        return []

    consumer = bus.consumer([CIVIL.name], "c", "g.civil")
    loop = ServiceLoop(
        "civil",
        "g.civil",
        consumer,
        bus.producer("p"),
        CODEC,
        {CivilStatusRegistered: civil},
        request_id=lambda m: m.event_id,
        concurrent=True,
        ordered=(CIVIL.name,),
        clock=clock,
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await clock.advance_until(lambda: loop.handled == 5)
    stop.set()
    await task
    assert decided == [e.event_id for e in events]


async def test_the_database_hands_a_freed_slot_to_the_longest_waiter() -> None:
    clock = FakeClock()
    database = Database(ServiceTime(model="fixed", ms=10), 1, random.Random(1), "g.fifo", clock)
    order: list[int] = []

    async def one(i: int) -> None:
        await database.work()
        order.append(i)

    served = asyncio.gather(*(one(i) for i in range(6)))
    await clock.advance_until(served.done)
    await served
    assert order == list(range(6))
    assert database.peak == 1


class AskedSizes(FailingCommits):
    """Records how many records each read asked for."""

    def __init__(self, inner: Consumer) -> None:
        super().__init__(inner, 0)
        self.asked: list[int] = []

    async def getmany(self, timeout_ms: int, max_records: int) -> list[Any]:
        self.asked.append(max_records)
        return await super().getmany(timeout_ms, max_records)


async def test_the_fetch_size_is_not_a_latency_tax_the_window_bounds_every_read() -> None:
    peaks: dict[int, int] = {}
    for batch in (50, 500):
        bus, _requests = await filled(80)
        clock = FakeClock()
        database = Database(
            ServiceTime(model="fixed", ms=5), 4, random.Random(1), f"g.b{batch}", clock
        )

        async def worked(req: VerificationRequested, db: Database = database) -> list[Outgoing]:
            await db.work()
            return await answer(req)

        consumer = AskedSizes(bus.consumer([VERIFY.name], "c", f"g.b{batch}"))
        loop = service_loop(
            f"b{batch}",
            consumer,
            bus.producer("p"),
            worked,
            batch=batch,
            concurrent=True,
            window=8,
            clock=clock,
        )
        await consumer.start()
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop))
        await clock.advance_until(lambda lp=loop: lp.handled == 80)  # type: ignore[misc]
        stop.set()
        await task
        assert max(consumer.asked) <= 8  # never more than the window's room, whatever the batch
        peaks[batch] = database.peak
    assert peaks == {50: 4, 500: 4}  # every slot used either way: no batch holds a slot idle
