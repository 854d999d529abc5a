"""While the broker is away: readiness says so, repeated warnings are counted, not repeated."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from services.process.lograte import RepeatFilter, install, report_suppressed
from services.process.readiness import BrokerWatch, Readiness


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(
    msg: str, *args: object, level: int = logging.WARNING, name: str = "x"
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_repeated_warning_shows_once_per_interval_then_says_how_many_were_dropped() -> None:
    clock = Clock()
    repeat = RepeatFilter(interval_s=30, clock=clock)
    shown = []
    for i in range(1000):
        clock.now = i * 0.05  # 20 a second for 50 s
        rec = record("Unable connect to node with id %s: port %d", 1, 40000 + i % 7)
        if repeat.filter(rec):
            shown.append(rec.getMessage())
    assert len(shown) == 2
    assert shown[1].endswith("[599 more like this in the last 30s not shown]")


def test_distinct_warnings_and_info_lines_are_not_merged() -> None:
    repeat = RepeatFilter(interval_s=30, clock=Clock())
    assert repeat.filter(record("send failed: %s", "UnknownTopicOrPartitionError"))
    assert repeat.filter(record("send failed: %s", "KafkaTimeoutError"))
    assert repeat.filter(record("send failed: %s", "KafkaTimeoutError", name="other"))
    assert all(repeat.filter(record("started", level=logging.INFO)) for _ in range(5))
    assert not repeat.filter(record("send failed: %s", "KafkaTimeoutError"))


def test_dropped_repeats_are_reported_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        repeat = install(handler)
        for _ in range(5):
            repeat.filter(record("no leader for %s", "ndx.audit"))
        with caplog.at_level(logging.INFO):
            assert report_suppressed(logging.getLogger("ndx.test")) == 4
        assert "4 more like this from x not shown: no leader for ndx.audit" in caplog.text
        assert repeat.flush() == []
    finally:
        logging.getLogger().removeHandler(handler)


class FlakyProbe:
    """A broker that answers as told."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0
        self.times: list[float] = []

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def check(self) -> None:
        self.calls += 1
        self.times.append(asyncio.get_running_loop().time())
        if not self.up:
            raise ConnectionRefusedError("down")


def ready(service: str) -> float | None:
    return REGISTRY.get_sample_value("ndx_service_ready", {"service": service})


async def until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_readiness_is_zero_while_the_probe_fails_and_one_once_it_answers() -> None:
    probe, readiness = FlakyProbe(), Readiness("unit-watch")
    readiness.mark_started()
    watch = BrokerWatch(probe, readiness, "nowhere:1", every_s=0.01, backoff_max_s=0.04)
    stop = asyncio.Event()
    task = asyncio.create_task(watch.run(stop))
    await until(lambda: probe.calls >= 2)
    assert ready("unit-watch") == 1
    probe.up = False
    await until(lambda: ready("unit-watch") == 0)
    assert not readiness.reachable
    probe.up = True
    await until(lambda: ready("unit-watch") == 1)
    stop.set()
    await task
    assert watch.outages == 1


async def test_probes_back_off_while_the_broker_is_away() -> None:
    probe, readiness = FlakyProbe(), Readiness("unit-backoff")
    probe.up = False
    watch = BrokerWatch(probe, readiness, "nowhere:1", every_s=0.01, backoff_max_s=0.08)
    stop = asyncio.Event()
    task = asyncio.create_task(watch.run(stop))
    await until(lambda: probe.calls >= 4)
    stop.set()
    await task
    # without backoff 3 more probes take 30 ms; doubling (20, 40, 80 ms) at least 140 ms
    assert probe.times[3] - probe.times[0] >= 0.14


async def test_held_work_resumes_when_the_broker_answers_or_the_service_stops() -> None:
    readiness, stop = Readiness("unit-hold"), asyncio.Event()
    await asyncio.wait_for(readiness.hold(stop), 1)  # reachable: no wait at all
    readiness.mark_reachable(False)
    held = asyncio.create_task(readiness.hold(stop))
    await asyncio.sleep(0.05)
    assert not held.done()
    readiness.mark_reachable(True)
    await asyncio.wait_for(held, 1)
    readiness.mark_reachable(False)
    held = asyncio.create_task(readiness.hold(stop))
    stop.set()
    await asyncio.wait_for(held, 1)
    assert readiness.started is False and ready("unit-hold") == 0  # never started: never ready
