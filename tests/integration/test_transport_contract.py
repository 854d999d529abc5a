"""Both Kafka transports keep the same contract on a real secured broker: round trips with keys,
headers and append time, groups that commit and rewind, pause and resume, rebalances drained
first, and the cluster's refusals as this package's errors."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
from rich.console import Console

from loadtests.engine.run import execute
from services.kafka import BrokerUnreachable, Consumer, NotAuthorized, Record, transport_for
from services.kafka.bus import ClientTuning, KafkaTransport
from services.kafka.choice import ClusterTransport
from services.kafka.transport import RecordTooLarge, TransportError
from services.wire import CHANGES, TopicSpec
from services.wire.topics import APPEND_TIME
from tests.support.secured import SecuredCluster, playing_on
from tests.support.waiting import wait_for_async

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

REPO = Path(__file__).resolve().parents[2]
Library = Literal["aiokafka", "librdkafka"]
LIBRARIES = pytest.mark.parametrize("library", ["aiokafka", "librdkafka"])
AGENCY = "province.001"


def tuning(library: Library, connect_timeout: float = 8.0) -> ClientTuning:
    return ClientTuning(connect_timeout=connect_timeout, library=library)


def admin(cluster: SecuredCluster, library: Library) -> ClusterTransport:
    return transport_for(cluster.stack.bootstrap, tuning(library), cluster.stack.admin)


async def new_topic(cluster: SecuredCluster, partitions: int = 1) -> str:
    """A topic of this test's own (made as the cluster's admin), so tests stay independent."""
    name = f"contract.{uuid.uuid4().hex[:12]}"
    maker = KafkaTransport(cluster.stack.bootstrap, security=cluster.stack.admin)
    await maker.ensure_topics([TopicSpec(name, None, partitions, APPEND_TIME)])
    return name


@asynccontextmanager
async def started(client: Any) -> AsyncIterator[Any]:
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def read(consumer: Consumer, n: int, limit_s: float = 20.0) -> list[Record]:
    out: list[Record] = []
    deadline = time.monotonic() + limit_s
    while len(out) < n and time.monotonic() < deadline:
        out += await consumer.getmany(timeout_ms=200, max_records=n - len(out))
    return out


async def until(check: Callable[[], Awaitable[bool] | bool], limit_s: float = 20.0) -> None:
    await wait_for_async(check, limit_s, "the consumer's condition")


async def write(transport: ClusterTransport, topic: str, n: int) -> None:
    async with started(transport.producer("contract.writer")) as producer:
        deliveries = [await producer.send(topic, b"v%d" % i, key=b"k%d" % i) for i in range(n)]
        await asyncio.gather(*deliveries)


@LIBRARIES
async def test_a_record_goes_round_with_key_headers_and_append_time(
    secured_demo: SecuredCluster, library: Library
) -> None:
    topic = await new_topic(secured_demo)
    transport = admin(secured_demo, library)
    consumer = transport.consumer([topic], "contract.reader", None, from_beginning=True)
    async with (
        started(transport.producer("contract.writer")) as producer,
        started(consumer),
    ):
        before = int(time.time() * 1000)
        delivery = await producer.send(topic, b"value", key=b"key", headers=[("h", b"1")])
        appended = (await delivery).timestamp
        [record] = await read(consumer, 1)
    assert abs(appended - before) < 5000
    assert (record.key, record.value, record.timestamp) == (b"key", b"value", appended)
    assert ("h", b"1") in list(record.headers)
    assert not [t for t in threading.enumerate() if t.name.startswith("rdkafka")]  # all joined


@LIBRARIES
async def test_a_group_commits_then_rewinds_to_what_it_committed(
    secured_demo: SecuredCluster, library: Library
) -> None:
    topic, group = await new_topic(secured_demo), f"contract.{uuid.uuid4().hex[:8]}"
    transport = admin(secured_demo, library)
    await write(transport, topic, 6)
    async with started(transport.consumer([topic], "contract.member", group)) as consumer:
        first = await read(consumer, 6)
        assert [r.value for r in first] == [b"v%d" % i for i in range(6)]
        assert await consumer.commit({(topic, 0): first[2].offset + 1})
        await consumer.rewind()
        again = await read(consumer, 3)
        assert [r.value for r in again] == [b"v3", b"v4", b"v5"]
        assert await consumer.commit()
        assert await consumer.at_end()


@LIBRARIES
async def test_at_end_and_lag_follow_what_was_read(
    secured_demo: SecuredCluster, library: Library
) -> None:
    # One partition: a partition the consumer has handed nothing of yet has no position to
    # count lag from, so with two the records read first could all be one partition's.
    topic = await new_topic(secured_demo, partitions=1)
    transport = admin(secured_demo, library)
    await write(transport, topic, 10)
    consumer = transport.consumer([topic], "contract.reader", None, from_beginning=True)
    async with started(consumer):
        assert consumer.assigned()
        assert not await consumer.at_end()
        got = await read(consumer, 4)
        await until(lambda: consumer.lag().get(topic, 0) > 0)
        got += await read(consumer, 6)
        assert len(got) == 10
        assert await consumer.at_end()
        await until(lambda: consumer.lag().get(topic, -1) == 0)


@LIBRARIES
async def test_a_paused_consumer_reads_nothing_until_resumed(
    secured_demo: SecuredCluster, library: Library
) -> None:
    topic = await new_topic(secured_demo)
    transport = admin(secured_demo, library)
    consumer = transport.consumer([topic], "contract.reader", None)
    async with started(consumer):
        consumer.pause()
        await asyncio.sleep(0.5)  # librdkafka's poller takes the pause between two fetches
        await write(transport, topic, 3)
        paused = [r for _ in range(5) for r in await consumer.getmany(200, 10)]
        assert paused == []
        consumer.resume()
        assert [r.value for r in await read(consumer, 3)] == [b"v0", b"v1", b"v2"]


@LIBRARIES
async def test_a_second_member_waits_for_the_first_ones_drain(
    secured_demo: SecuredCluster, library: Library
) -> None:
    topic, group = await new_topic(secured_demo, partitions=4), f"contract.{uuid.uuid4().hex[:8]}"
    transport = admin(secured_demo, library)
    first = transport.consumer([topic], "contract.first", group)
    drained: list[float] = []

    async def drain() -> None:
        await asyncio.sleep(0.3)
        await first.commit()
        drained.append(time.monotonic())

    first.before_revoke(drain)
    async with started(first):
        await until(lambda: _polled_assigned(first))
        second = transport.consumer([topic], "contract.second", group)
        async with started(second):
            await until(lambda: _both_own(first, second), limit_s=40)
    assert drained, "the first member's partitions moved without its drain"


async def _polled_assigned(consumer: Consumer) -> bool:
    await consumer.getmany(timeout_ms=100, max_records=10)
    return consumer.assigned()


async def _both_own(a: Consumer, b: Consumer) -> bool:
    await asyncio.gather(a.getmany(100, 10), b.getmany(100, 10))
    return a.assigned() and b.assigned()


async def refusal(transport: ClusterTransport, topic: str, value: bytes) -> BaseException:
    """What the cluster's refusal of one record comes out as (from the send or its delivery)."""
    async with started(transport.producer("contract.refused")) as producer:
        try:
            await asyncio.wait_for(await producer.send(topic, value, key=b"k"), 30)
        except TransportError as exc:
            return exc
    raise AssertionError("the record was accepted")


@LIBRARIES
async def test_a_topic_the_principal_may_not_write_is_not_authorized(
    secured_demo: SecuredCluster, library: Library
) -> None:
    security = secured_demo.stack.provisioned.credentials.security_for(AGENCY)
    transport = transport_for(secured_demo.stack.bootstrap, tuning(library), security)
    assert isinstance(await refusal(transport, CHANGES.name, b"forged"), NotAuthorized)


@LIBRARIES
async def test_a_record_above_the_limit_is_too_large(
    secured_demo: SecuredCluster, library: Library
) -> None:
    topic = await new_topic(secured_demo)
    error = await refusal(admin(secured_demo, library), topic, b"x" * (2 * 1024 * 1024))
    assert isinstance(error, RecordTooLarge)


@LIBRARIES
async def test_no_broker_at_the_address_is_unreachable_within_the_bound(
    library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    transport = transport_for("127.0.0.1:1", tuning(library, connect_timeout=2.0))
    for client in (transport.producer("contract.dead"), transport.consumer(["t"], "c.dead", "g")):
        t0 = time.monotonic()
        with pytest.raises(BrokerUnreachable):
            await client.start()
        assert time.monotonic() - t0 < 4.0
        await client.stop()
    said = [r for r in caplog.records if r.name == "ndx.kafka.rdkafka"]
    assert len(said) <= 4, [r.getMessage() for r in said]  # a few lines, not one per attempt


SCENARIO = """
name: both-libraries
topology: {topology}
agencies: [province.001, ministry.vss]
seed: 20261207
timeout_s: 10
periods:
  - {{name: first, duration_s: 2, rate_per_s: 100, max_requests: 150}}
  - {{name: second, duration_s: 2, rate_per_s: 100, max_requests: 150}}
errors: {{wrong_name: 0.1, unknown_id: 0.1, invalid_id: 0.05}}
"""


async def test_a_run_on_librdkafka_answers_as_the_same_run_on_aiokafka(
    secured_demo: SecuredCluster, tmp_path: Path
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO.format(topology=REPO / "loadtests/topologies/demo.yaml"))
    counts = {}
    for library in ("librdkafka", "aiokafka"):
        design = tmp_path / f"{library}.yaml"
        design.write_text(f"name: on-{library}\nclients: {{library: {library}}}\n")
        with playing_on(secured_demo) as settings:
            report = await execute(
                scenario,
                tmp_path / library,
                settings,
                Console(quiet=True),
                live=False,
                design_path=design,
                workers=1,
            )
        for phase in report.phases:
            assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0), (library, phase)
        counts[library] = [(p.name, p.answered, dict(p.outcomes)) for p in report.phases]
    assert counts["librdkafka"] == counts["aiokafka"]
    assert sum(answered for _, answered, _ in counts["librdkafka"]) == 300
