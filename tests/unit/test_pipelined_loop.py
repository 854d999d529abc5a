"""The service loop reads on while earlier outputs become durable, commits only what is durable
(after each batch or on a cadence), and lets handlers wait on modelled work side by side."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Mapping
from typing import Any

from services.registry.worktime import Database
from services.shared.codec import Catalogue, Codec
from services.shared.design import ServiceTime
from services.shared.membus import MemoryBus
from services.shared.messages import VerificationAnswered, VerificationRequested
from services.shared.runtime import Outgoing, ServiceLoop
from services.shared.topics import VERIFY, reply_topic, topics_for
from services.shared.transport import Consumer, Headers, Producer
from tests.support.flaky import FailingCommits
from tests.unit.test_rereads_on_memory_bus import AGENCY, Tallied, request

CODEC = Codec(Catalogue())


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

    async def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> bool:
        self.commits += 1
        return await super().commit(offsets)


async def answer(req: VerificationRequested) -> list[Outgoing]:
    made = VerificationAnswered(req.request_id, req.requester, "r", "MATCH", 1)
    return [Outgoing(reply_topic(req.requester), made, req.request_id.encode())]


async def filled(count: int) -> tuple[MemoryBus, list[VerificationRequested]]:
    bus = MemoryBus()
    await bus.ensure_topics(topics_for([AGENCY]))
    requests = [request() for _ in range(count)]
    producer = bus.producer("sender")
    for req in requests:
        await producer.send(VERIFY.name, CODEC.encode(req), key=b"one-partition")
    return bus, requests


async def until(condition: Any, limit_s: float = 10.0) -> None:
    for _ in range(int(limit_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_the_loop_reads_on_while_earlier_outputs_wait_and_commits_only_once_durable() -> None:
    bus, requests = await filled(20)
    producer = HeldProducer(bus.producer("p"))
    consumer = bus.consumer([VERIFY.name], "c", "g.pipe")
    tally = Tallied()
    loop = ServiceLoop(
        "pipe",
        "g.pipe",
        consumer,
        producer,
        CODEC,
        {VerificationRequested: answer},
        request_id=lambda m: m.request_id,
        tally=tally,
        batch=5,
        max_flights=3,
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: sum(consumer.positions.values()) >= 15)  # three batches in flight
    await asyncio.sleep(0.2)
    assert sum(consumer.positions.values()) == 15  # and no more than three
    assert not bus.groups["g.pipe"].committed and not tally.ids  # nothing durable yet
    producer.held.set()
    await until(lambda: loop.handled == 20)
    stop.set()
    await task
    assert max(bus.groups["g.pipe"].committed.values()) == 20
    assert tally.ids == Counter(r.request_id for r in requests)


async def test_on_a_commit_cadence_several_batches_are_committed_together() -> None:
    bus, requests = await filled(100)
    consumer = CountedCommits(bus.consumer([VERIFY.name], "c", "g.cadence"))
    tally = Tallied()
    loop = ServiceLoop(
        "cadence",
        "g.cadence",
        consumer,
        bus.producer("p"),
        CODEC,
        {VerificationRequested: answer},
        request_id=lambda m: m.request_id,
        tally=tally,
        batch=10,
        commit_interval_s=60.0,
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: loop.handled == 100)
    stop.set()
    await task
    assert consumer.commits == 1  # ten batches; once the input ran dry, one commit took them all
    assert max(bus.groups["g.cadence"].committed.values()) == 100
    assert tally.ids == Counter(r.request_id for r in requests)


async def test_handlers_waiting_on_modelled_work_run_side_by_side_up_to_the_concurrency() -> None:
    bus, requests = await filled(40)
    database = Database(ServiceTime(model="fixed", ms=20), 4, random.Random(1))

    async def worked(req: VerificationRequested) -> list[Outgoing]:
        await database.work()
        return await answer(req)

    tally = Tallied()
    consumer = bus.consumer([VERIFY.name], "c", "g.work")
    loop = ServiceLoop(
        "work",
        "g.work",
        consumer,
        bus.producer("p"),
        CODEC,
        {VerificationRequested: worked},
        request_id=lambda m: m.request_id,
        tally=tally,
        batch=40,
        concurrent=True,
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: loop.handled == 40)
    stop.set()
    await task
    assert database.peak == 4
    assert tally.ids == Counter(r.request_id for r in requests)
