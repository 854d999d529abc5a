"""A batch that cannot be written is re-read a bounded number of times, then split; an outage is
waited out without spinning; whatever happens, each record is counted once, after its commit."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY

from services.kafka.transport import Consumer, Producer
from services.kafka.twin import MemoryBus
from services.loop.rereads import SPLIT_AFTER, Backoff, Rereads
from services.loop.runtime import Outgoing, ServiceLoop
from services.monitor.handlers import handle_dossier
from services.monitor.tally import tally as monitor_tally
from services.wire.codec import Catalogue, Codec
from services.wire.messages import DossierSubmitted, VerificationAnswered, VerificationRequested
from services.wire.topics import DLQ, DOSSIERS, VERIFY, reply_topic, topics_for
from tests.support.clock import FakeClock
from tests.support.flaky import FailingCommits, GatedProducer
from tests.support.poison import header_map

AGENCY = "province.001"
BUS_LIMIT = 20_000
CODEC = Codec(Catalogue())


def value(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def answer(req: VerificationRequested) -> list[Outgoing]:
    """A handler with a bug: for one name its answer is larger than the platform takes."""
    reason = "x" * (2 * BUS_LIMIT) if req.full_name == "POISON" else ""
    made = VerificationAnswered(req.request_id, req.requester, "r", "MATCH", 1, [], reason)
    return [Outgoing(reply_topic(req.requester), made, req.request_id.encode())]


def request(name: str = "A B") -> VerificationRequested:
    return VerificationRequested(
        uuid.uuid4().hex,
        AGENCY,
        "001090000001",
        name,
        "1990-01-01",
        "public-service-dossier",
        "",
        1,
    )


class Tallied:
    """The tally a bootstrap would wire, recording what it was asked to count."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    def __call__(self, message: Any, outs: list[Outgoing], seconds: float) -> None:
        self.ids[getattr(message, "request_id", None) or getattr(message, "dossier_id", "")] += 1


async def bus_with(requests: list[VerificationRequested]) -> MemoryBus:
    bus = MemoryBus(max_record_bytes=BUS_LIMIT)
    await bus.ensure_topics(topics_for([AGENCY]))
    producer = bus.producer("sender")
    for req in requests:  # one key: one partition, in this order
        await producer.send(VERIFY.name, CODEC.encode(req), key=b"same")
    return bus


def loop_on(
    service: str,
    consumer: Consumer,
    producer: Producer,
    tally: Tallied,
    clock: FakeClock,
    first_s: float = 0.01,
) -> ServiceLoop:
    return ServiceLoop(
        service,
        "g." + service,
        consumer,
        producer,
        CODEC,
        {VerificationRequested: answer},
        request_id=lambda m: m.request_id,
        tally=tally,
        rereads=Rereads(backoff=Backoff(first_s, first_s * 4)),
        clock=clock,
    )


async def run_until(
    loop: ServiceLoop, clock: FakeClock, done: Callable[[], bool], limit_s: float = 10.0
) -> None:
    """Run the loop, its backoffs on the fake clock, until `done` (virtual `limit_s` at most)."""
    await loop.consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        await clock.advance_until(done, limit_s)
    finally:
        stop.set()
        await task
        await loop.consumer.stop()


async def test_a_batch_with_an_unwritable_output_is_split_and_that_record_alone_referenced() -> (
    None
):
    requests = [request("POISON" if i == 4 else "A B") for i in range(10)]
    bus = await bus_with(requests)
    tally, clock = Tallied(), FakeClock()
    consumer = bus.consumer([VERIFY.name], "c", "g.splitter")
    loop = loop_on("splitter", consumer, bus.producer("p"), tally, clock)
    await run_until(loop, clock, lambda: loop.handled >= 10)

    assert value("ndx_batch_retries_total", {"service": "splitter"}) == SPLIT_AFTER
    assert tally.ids == Counter(r.request_id for i, r in enumerate(requests) if i != 4)
    [letter] = [r for part in bus.topics[DLQ.name] for r in part]
    headers = header_map(letter.headers)
    assert headers["reason"] == "unwritable_output" and headers["reference"] == "true"
    assert (headers["source_topic"], headers["source_offset"]) == (VERIFY.name, "4")
    assert letter.value is None
    assert (
        value("ndx_dead_letters_total", {"service": "splitter", "reason": "unwritable_output"}) == 1
    )
    answered = {
        CODEC.decode(r.value or b"").request_id
        for part in bus.topics[reply_topic(AGENCY)]  # type: ignore[union-attr]
        for r in part
    }
    assert answered == {r.request_id for i, r in enumerate(requests) if i != 4}
    assert max(bus.groups["g.splitter"].committed.values()) == 10


async def test_with_the_broker_away_the_loop_backs_off_and_loses_and_dead_letters_nothing() -> None:
    requests = [request() for _ in range(5)]
    bus = await bus_with(requests)
    tally, clock = Tallied(), FakeClock()
    producer = GatedProducer(bus.producer("p"))
    producer.down = True
    consumer = bus.consumer([VERIFY.name], "c", "g.outage")
    loop = loop_on("outage", consumer, producer, tally, clock, first_s=0.05)
    await loop.consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await clock.run_for(1.5)
    retries = value("ndx_batch_retries_total", {"service": "outage"})
    # Pauses of 0.05, 0.1, 0.2, 0.2 ... s: about ten attempts in 1.5 s, not thousands.
    assert SPLIT_AFTER < retries <= 1.5 / 0.05
    assert producer.refused <= 2 * len(requests) * retries
    assert not tally.ids and not any(bus.topics[DLQ.name])
    producer.down = False
    await clock.advance_until(lambda: loop.handled >= 5, 3.0)
    stop.set()
    await task
    await loop.consumer.stop()
    assert tally.ids == Counter(r.request_id for r in requests)
    assert not any(bus.topics[DLQ.name])  # an outage is not poison
    assert not value("ndx_dead_letters_total", {"service": "outage", "reason": "unwritable_output"})


async def test_a_batch_read_again_after_a_lost_commit_is_tallied_once() -> None:
    bus = MemoryBus()
    await bus.ensure_topics(topics_for([AGENCY]))
    producer = bus.producer("portal")
    dossiers = [
        DossierSubmitted(f"d-{i}", "province.tally", "passport", "ONLINE", "ab", 1)
        for i in range(20)
    ]
    for d in dossiers:
        await producer.send(DOSSIERS.name, CODEC.encode(d), key=b"province.tally")
    labels = {"province": "province.tally", "service": "passport", "channel": "ONLINE"}
    before = value("ndx_dossiers_total", labels)
    consumer = FailingCommits(bus.consumer([DOSSIERS.name], "m", "g.monitor-test"), failures=2)
    tally, clock = Tallied(), FakeClock()

    def both(message: Any, outs: list[Outgoing], seconds: float) -> None:
        tally(message, outs, seconds)
        monitor_tally(message, outs, seconds)

    loop = ServiceLoop(
        "monitor-test",
        "g.monitor-test",
        consumer,
        bus.producer("m"),
        CODEC,
        {DossierSubmitted: handle_dossier},
        tally=both,
        rereads=Rereads(backoff=Backoff(0.01, 0.02)),
        clock=clock,
    )
    await run_until(loop, clock, lambda: loop.handled >= 20)
    assert value("ndx_batch_retries_total", {"service": "monitor-test"}) == 2
    assert tally.ids == Counter(d.dossier_id for d in dossiers)
    assert value("ndx_dossiers_total", labels) - before == 20
