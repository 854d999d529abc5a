"""The jar-launched KRaft broker serves real clients, keeps data across restarts, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.cluster.localbroker import (
    PID_FILE,
    REPO_ROOT,
    BrokerError,
    LocalBroker,
    running_pid,
    stop_from_pidfile,
)
from loadtests.cluster.probe import free_port
from services.kafka.bus import KafkaTransport
from services.kafka.transport import Consumer, Record
from services.wire.topics import TopicSpec

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def process_exists(pid: int) -> bool:
    """True while pid is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def java_processes_using(data_dir: Path) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "kafka.Kafka" in text and str(data_dir) in text:
            found.append(int(cmdline.parent.name))
    return [pid for pid in found if process_exists(pid)]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    local = LocalBroker(
        tmp_path_factory.mktemp("broker"),
        port=free_port(),
        controller_port=free_port(),
        heap="512m",
    )
    local.start()
    yield local
    local.stop()


async def create_topic(bootstrap: str, partitions: int) -> str:
    name = f"localbroker.test.{uuid.uuid4().hex[:8]}"
    await KafkaTransport(bootstrap).ensure_topics([TopicSpec(name, None, partitions)])
    return name


async def produce(bootstrap: str, topic: str, records: dict[bytes, bytes]) -> None:
    """acks=all and idempotent, each record acknowledged before the next is sent."""
    producer = KafkaTransport(bootstrap).producer("localbroker.test")
    await producer.start()
    try:
        for key, value in records.items():
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def consume(consumer: Consumer, count: int) -> list[Record]:
    await consumer.start()
    got: list[Record] = []
    try:
        async with asyncio.timeout(60):
            while len(got) < count:
                got += await consumer.getmany(timeout_ms=1000, max_records=count)
    finally:
        await consumer.stop()
    return got


async def test_broker_serves_a_produce_consume_round_trip_through_a_consumer_group(
    broker: LocalBroker,
) -> None:
    topic = await create_topic(broker.bootstrap, partitions=3)
    sent = {f"citizen-{i}".encode(): f"verification-{i}".encode() for i in range(30)}
    await produce(broker.bootstrap, topic, sent)

    group = f"localbroker-test-{uuid.uuid4().hex[:8]}"
    consumer = KafkaTransport(broker.bootstrap).consumer([topic], "localbroker.test", group)
    received = await consume(consumer, len(sent))

    assert {r.key: r.value for r in received} == sent
    assert {r.partition for r in received} == {0, 1, 2}


async def test_restart_keeps_messages_and_replaces_the_old_jvm(broker: LocalBroker) -> None:
    topic = await create_topic(broker.bootstrap, partitions=1)
    await produce(broker.bootstrap, topic, {b"k1": b"before restart"})
    old_pid = broker.pid
    assert old_pid is not None

    await asyncio.to_thread(broker.restart)

    assert not process_exists(old_pid)
    assert broker.pid != old_pid and broker.is_running()
    await produce(broker.bootstrap, topic, {b"k2": b"after restart"})
    transport = KafkaTransport(broker.bootstrap)
    consumer = transport.consumer([topic], "localbroker.test", from_beginning=True)
    received = await consume(consumer, 2)
    assert [r.value for r in received] == [b"before restart", b"after restart"]


def test_cli_start_leaves_broker_running_and_stop_leaves_no_java_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "cli-broker"
    ports = ["--port", str(free_port()), "--controller-port", str(free_port())]
    cli = [sys.executable, "-m", "loadtests.cluster.localbroker"]
    options = ["--data-dir", str(data_dir), *ports, "--heap", "512m"]

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, command, *options], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180
        )

    started = run("start")
    pid = running_pid(data_dir)
    try:
        assert started.returncode == 0, started.stderr
        assert pid is not None and process_exists(pid)
        assert run("status").returncode == 0
    finally:
        stopped = run("stop")

    assert stopped.stdout.strip() == "stopped"
    assert pid is not None and not process_exists(pid)
    assert not (data_dir / PID_FILE).exists()
    assert java_processes_using(data_dir) == []
    assert run("status").returncode == 1


def test_start_refuses_a_port_that_is_already_taken(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        broker = LocalBroker(tmp_path, port=taken, controller_port=free_port())
        with pytest.raises(BrokerError, match=str(taken)):
            broker.start()
    assert not broker.is_running()


def test_stale_pid_file_never_stops_an_unrelated_process(tmp_path: Path) -> None:
    (tmp_path / PID_FILE).write_text(f"{os.getpid()}\n")

    assert running_pid(tmp_path) is None
    assert stop_from_pidfile(tmp_path) is False
    assert not (tmp_path / PID_FILE).exists()
