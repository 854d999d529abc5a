"""A local three-node KRaft cluster: one quorum, replicated topics that survive a crashed node,
and unreplicated ones that show the outage until the node returns."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import RecordMetadata

from loadtests.cluster import BrokerError, LocalCluster, running_pid
from loadtests.cluster.probe import metadata_brokers
from services.kafka.bus import ClientTuning, KafkaTransport
from services.wire.topics import TopicSpec
from tests.support.cluster import java_processes_using, placement
from tests.support.topics import read_topic
from tests.support.waiting import wait_for_async

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

PARTITIONS = 6
KEYS = 24
RECORDS = 3000
STREAM_S = 15.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), nodes=3, heap="512m")
    began = time.monotonic()
    try:
        local.start(timeout=120)
        print(f"\n3-node cluster ready in {time.monotonic() - began:.1f}s")
        yield local
    finally:
        local.stop()
    assert java_processes_using(local.data_dir) == []


async def create_topic(cluster: LocalCluster, replication: int, min_isr: int) -> str:
    name = f"cluster.test.{uuid.uuid4().hex[:8]}"
    tuning = ClientTuning(replication=replication, min_insync_replicas=min_isr)
    transport = KafkaTransport(cluster.bootstrap, tuning)
    await transport.ensure_topics([TopicSpec(name, None, PARTITIONS)])

    async def led_everywhere() -> bool:
        now = await placement(cluster.bootstrap, name)
        return len(now) == PARTITIONS and all(
            leader >= 0 and len(isr) == replication for leader, _, isr in now.values()
        )

    await wait_for_async(led_everywhere, 30, f"{name}'s partitions led and in sync")
    return name


def test_every_node_lists_all_three_brokers_and_owns_a_checked_pid_file(
    cluster: LocalCluster,
) -> None:
    for node in cluster.layout.nodes:
        assert metadata_brokers(node.port) == 3
        pid = cluster.pid(node.node_id)
        assert pid is not None
        assert running_pid(cluster.data_dir / f"node-{node.node_id}") == pid
    assert len({cluster.pid(n) for n in (1, 2, 3)}) == 3


def test_a_second_launcher_on_the_same_data_refuses_and_stops_nothing(
    cluster: LocalCluster,
) -> None:
    other = LocalCluster(cluster.data_dir, nodes=3)
    assert other.layout == cluster.layout  # same ports, from cluster.json

    with pytest.raises(BrokerError, match="already runs"):
        other.start()

    assert all(cluster.is_running(n) for n in (1, 2, 3))
    assert all(metadata_brokers(node.port) == 3 for node in cluster.layout.nodes)


async def test_a_topic_with_replication_3_and_min_isr_2_has_three_in_sync_replicas(
    cluster: LocalCluster,
) -> None:
    topic = await create_topic(cluster, replication=3, min_isr=2)

    described = await placement(cluster.bootstrap, topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        (configs,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"min.insync.replicas": None})]
        )
    finally:
        await admin.close()

    assert len(described) == PARTITIONS
    assert all(
        sorted(isr) == sorted(replicas) == [1, 2, 3] for _, replicas, isr in described.values()
    )
    assert len({leader for leader, _, _ in described.values()}) == 3  # leadership is spread
    ((_, _, _, _, entries),) = configs.resources
    assert [(e[0], e[1]) for e in entries] == [("min.insync.replicas", "2")]


async def test_killing_a_leader_mid_stream_fails_no_send_and_loses_or_repeats_no_record(
    cluster: LocalCluster,
) -> None:
    topic = await create_topic(cluster, replication=3, min_isr=2)
    before = await placement(cluster.bootstrap, topic)
    victim = before[0][0]
    led = {p for p, (leader, _, _) in before.items() if leader == victim}
    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    sent: list[tuple[bytes, bytes]] = []
    latency: dict[int, float] = {}  # worst ack wait per partition

    async def stream() -> list[asyncio.Future[RecordMetadata]]:
        began, futures = time.monotonic(), []
        for i in range(RECORDS):
            await asyncio.sleep(max(0.0, began + i * STREAM_S / RECORDS - time.monotonic()))
            key = f"citizen-{i % KEYS:02d}".encode()
            value = key + f":{i:05d}".encode()
            sent.append((key, value))
            at = time.monotonic()
            fut = await producer.send(topic, value, key=key)
            fut.add_done_callback(functools.partial(note, at=at))
            futures.append(fut)
        return futures

    def note(fut: asyncio.Future[RecordMetadata], at: float) -> None:
        if not fut.cancelled() and fut.exception() is None:
            part = fut.result().partition
            latency[part] = max(latency.get(part, 0.0), time.monotonic() - at)

    async def moved() -> bool:
        now = await placement(cluster.bootstrap, topic)
        return all(now[p][0] not in (victim, -1) for p in led)

    async def crash_and_return() -> tuple[float, float]:
        await asyncio.sleep(STREAM_S / 3)  # the scenario: the crash comes a third into the stream
        await asyncio.to_thread(cluster.kill, victim)
        killed = time.monotonic()
        failover_s = await wait_for_async(moved, 30, f"new leaders for node {victim}'s partitions")
        # the scenario: the node stays down 5 s, whatever the failover took
        await asyncio.sleep(max(0.0, killed + 5.0 - time.monotonic()))
        back = time.monotonic()
        await asyncio.to_thread(cluster.start_node, victim)
        return failover_s, time.monotonic() - back

    try:
        futures, (failover_s, restart_s) = await asyncio.gather(stream(), crash_and_return())
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        await producer.stop()

    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert failed == [], f"{len(failed)} sends failed, first: {failed[:1]}"
    received = await read_topic(cluster.bootstrap, topic)
    assert Counter(r.value for r in received) == Counter(v for _, v in sent)
    order: dict[bytes, list[bytes]] = defaultdict(list)
    for record in sorted(received, key=lambda r: (r.partition, r.offset)):
        order[record.key].append(record.value)
    assert all(values == sorted(values) for values in order.values())

    async def healed() -> bool:
        now = await placement(cluster.bootstrap, topic)
        return all(len(isr) == 3 for _, _, isr in now.values())

    rejoined_s = await wait_for_async(healed, 60, f"node {victim} back in every ISR")
    stall = max(latency[p] for p in led)
    print(
        f"\nkilled node {victim} (leader of partitions {sorted(led)}): new leaders after "
        f"{failover_s:.1f}s, longest ack wait there {stall:.1f}s, node serving again "
        f"{restart_s:.1f}s after its restart, back in every ISR {rejoined_s:.1f}s later"
    )


async def test_with_replication_1_a_killed_nodes_partitions_are_unavailable_until_it_returns(
    cluster: LocalCluster,
) -> None:
    topic = await create_topic(cluster, replication=1, min_isr=1)
    before = await placement(cluster.bootstrap, topic)
    victim = before[0][0]
    led = {p for p, (leader, _, _) in before.items() if leader == victim}
    others = set(before) - led
    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.bootstrap, acks="all", request_timeout_ms=5000
    )
    await producer.start()
    try:
        for p in before:
            await producer.send_and_wait(topic, b"before the crash", partition=p)
        await asyncio.to_thread(cluster.kill, victim)
        killed = time.monotonic()

        async def leaderless() -> bool:
            now = await placement(cluster.bootstrap, topic)
            return all(now[p][0] == -1 for p in led)

        offline_s = await wait_for_async(leaderless, 30, f"node {victim}'s partitions offline")
        during = {p: await producer.send(topic, b"during the outage", partition=p) for p in before}
        await asyncio.wait([during[p] for p in others], timeout=30)
        await asyncio.wait([during[p] for p in led], timeout=8)
        down_s = time.monotonic() - killed

        assert all(during[p].done() and during[p].exception() is None for p in others)
        unserved = {p for p in led if not during[p].done() or during[p].exception() is not None}
        assert unserved == led, "a partition of the dead node took a write"
        await asyncio.to_thread(cluster.start_node, victim)
        back = time.monotonic()
    finally:
        await producer.stop()

    again = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
    await again.start()
    try:
        async with asyncio.timeout(60):
            for p in led:
                await again.send_and_wait(topic, b"after the return", partition=p)
    finally:
        await again.stop()
    recovered_s = time.monotonic() - back
    late = sum(1 for p in led if during[p].done() and during[p].exception() is None)
    received = sorted(await read_topic(cluster.bootstrap, topic), key=lambda r: r.offset)
    assert len(received) == PARTITIONS * 2 + late
    for p in led:
        values = [r.value for r in received if r.partition == p]
        assert values[0] == b"before the crash" and values[-1] == b"after the return"
    print(
        f"\nreplication 1, node {victim} killed: partitions {sorted(led)} leaderless after "
        f"{offline_s:.1f}s and unwritable for the {down_s:.1f}s it was down; writable "
        f"{recovered_s:.1f}s after it served again"
    )


def test_a_one_node_cluster_serves_and_stop_leaves_no_jvm_or_pid_file(tmp_path: Path) -> None:
    single = LocalCluster(tmp_path, nodes=1, heap="512m")
    try:
        assert single.start() == f"127.0.0.1:{single.layout.nodes[0].port}"
        assert metadata_brokers(single.layout.nodes[0].port) == 1
        pid = single.pid(1)
        assert pid is not None and running_pid(tmp_path / "node-1") == pid
    finally:
        single.stop()

    assert java_processes_using(tmp_path) == []
    assert not (tmp_path / "node-1" / "broker.pid").exists()
