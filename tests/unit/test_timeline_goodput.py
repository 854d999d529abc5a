"""The run's timeline keeps apart what the report must not mix: answers accepted in time
(goodput), timeouts, late answers and retries, per second; it crosses the worker wire intact;
and it places the registry's scraped pressure (consumer lag, slots busy) on its seconds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from loadtests.measure.counters import read_all
from loadtests.measure.pressure import GAUGES, PressureMeter, pressure_of
from loadtests.measure.timeline import Pressure, Timeline, add_seconds, timeline_wire
from loadtests.pages.chartkit import GOODPUT, LATE, OFFERED, RETRIES, TIMED_OUT, period_goodput
from loadtests.pages.charts import over_time
from loadtests.pages.compare import compare_charts
from loadtests.stack.serviceproc import free_port
from services.wire.topics import REGISTRY_GROUP
from tests.support.reports import compare_report, overloaded_report, run_report

WALL0 = 1_700_000_000.0


def test_each_second_keeps_goodput_timeouts_late_answers_retries_and_offers_apart() -> None:
    line = Timeline()
    line.offer(0, "p")
    line.offer(0, "p")
    line.record(0, "p", 0.004)
    line.record(1, "p", 2.0, timed_out=True)
    line.late_answer(1)
    line.retry(1)
    [first, second] = line.as_report()
    assert (first.offered, first.answered, first.timed_out) == (2, 1, 0)
    assert (second.answered, second.timed_out, second.late_answers, second.retries) == (0, 1, 1, 1)
    assert second.ended == 1 and second.latency_ms.p99 == pytest.approx(2000, rel=0.01)
    assert second.phase == "p"  # a late answer's second takes the latest period's name


def test_seconds_between_periods_belong_to_the_period_before() -> None:
    line = Timeline()
    line.record(0, "a", 0.01)
    line.record(3, "b", 0.01)
    assert [s.phase for s in line.seconds] == ["a", "a", "a", "b"]


def test_the_worker_wire_carries_every_count_and_seconds_with_only_timeouts_or_late_answers() -> (
    None
):
    one, two = Timeline(), Timeline()
    one.offer(0, "p")
    one.record(0, "p", 0.01)
    one.record(2, "p", 1.0, timed_out=True)  # nothing answered in second 2: still sent
    two.late_answer(3)
    two.seconds[3].phase = "p"
    two.retry(3)
    merged = Timeline()
    add_seconds(merged, timeline_wire(one))
    add_seconds(merged, timeline_wire(two))
    got = [(s.offered, s.answered, s.timed_out, s.late_answers, s.retries) for s in merged.seconds]
    assert got == [(1, 1, 0, 0, 0), (0, 0, 0, 0, 0), (0, 0, 1, 0, 0), (0, 0, 0, 1, 1)]
    assert [s.phase for s in merged.seconds] == ["p"] * 4


def test_scrapes_land_on_the_seconds_of_the_run_the_last_of_each_second_kept() -> None:
    line = Timeline()
    for t in range(3):
        line.record(t, "p", 0.01)
    line.wall0 = WALL0
    line.sample(Pressure(WALL0 - 0.5, consumer_lag=99))  # before the run: not its
    line.sample(Pressure(WALL0 + 0.2, consumer_lag=1, slots_busy=1, slots=4))
    line.sample(Pressure(WALL0 + 0.9, consumer_lag=2, slots_busy=2, slots=4))
    line.sample(Pressure(WALL0 + 2.5, consumer_lag=7, slots_busy=4, slots=4, in_hand=8))
    line.sample(Pressure(WALL0 + 9.0, consumer_lag=3))  # after its last second
    got = [(s.consumer_lag, s.slots_busy, s.slots, s.in_hand) for s in line.as_report()]
    assert got == [(2, 2, 4, None), (None, None, None, None), (7, 4, 4, 8)]
    dumped = line.as_report()[1].model_dump()
    assert "consumer_lag" not in dumped  # not scraped: left out of report.json, not 0


def test_a_timeline_without_a_known_start_keeps_its_seconds_and_no_pressure() -> None:
    line = Timeline()
    line.record(0, "p", 0.01)
    line.sample(Pressure(WALL0, consumer_lag=5))
    assert line.as_report()[0].consumer_lag is None


@contextlib.contextmanager
def registry_metrics(
    lag: Mapping[tuple[str, str], float], busy: float, slots: float
) -> Iterator[int]:
    """One registry instance's /metrics, with the gauges as the services name them."""
    reg = CollectorRegistry()
    lag_gauge = Gauge("ndx_consumer_lag_records", "", ["group", "topic"], registry=reg)
    for (group, topic), value in lag.items():
        lag_gauge.labels(group, topic).set(value)
    Gauge("ndx_registry_slots_busy", "", ["service"], registry=reg).labels("registry").set(busy)
    Gauge("ndx_registry_slots", "", ["service"], registry=reg).labels("registry").set(slots)
    Gauge("ndx_loop_records_in_hand", "", ["service"], registry=reg).labels("registry").set(3)
    Gauge("ndx_other", "", registry=reg).set(1)
    port = free_port()
    server, thread = start_http_server(port, "127.0.0.1", registry=reg)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_the_pressure_meter_sums_the_registry_group_lag_and_slots_over_instances() -> None:
    first = {(REGISTRY_GROUP, "ndx.verify.requests"): 120, (REGISTRY_GROUP, "ndx.lookup"): 5}
    other = {("ndx.registry.changes-follower", "ndx.registry.changes"): 1000}  # not the queue
    with (
        registry_metrics(first | other, busy=4, slots=4) as a,
        registry_metrics({(REGISTRY_GROUP, "ndx.verify.requests"): 30}, busy=1, slots=4) as b,
    ):
        line = Timeline()
        meter = PressureMeter([a, b, free_port()], line, interval_s=0.05)  # one not answering
        sample = await meter.scrape()
        assert (sample.consumer_lag, sample.slots_busy, sample.slots, sample.in_hand) == (
            155,
            5,
            8,
            6,
        )
        await meter.start()
        await asyncio.sleep(0.3)
        await meter.stop()
        assert len(line.pressure) >= 3 and line.last_pressure() == line.pressure[-1]


def test_gauges_nobody_exposes_are_unknown_not_zero() -> None:
    sample = pressure_of([("1", {}, None)], WALL0)
    assert (sample.consumer_lag, sample.slots_busy, sample.slots) == (None, None, None)
    assert read_all([(free_port(), GAUGES)]) == []  # a registry restarting: no scrape at all


def test_the_report_chart_draws_every_rate_apart_and_the_registry_on_the_same_time_axis() -> None:
    report = overloaded_report()
    fig = over_time(report).figure
    names = [t.name for t in fig.data]
    for name in (OFFERED, GOODPUT, TIMED_OUT, LATE, RETRIES, "consumer lag (records)"):
        assert name in names
    lag = next(t for t in fig.data if t.name == "consumer lag (records)")
    busy = next(t for t in fig.data if t.name == "slots busy")
    assert lag.xaxis == busy.xaxis == "x3" and busy.yaxis != lag.yaxis  # second y axis
    assert fig.layout.xaxis3.matches == "x" or fig.layout.xaxis.matches == "x3"
    mean = next(t for t in fig.data if t.name == f"{GOODPUT}, period mean")
    assert mean.y[0] == pytest.approx(report.phases[0].throughput_tps, abs=0.01)
    assert list(mean.customdata[:2]) == ["base", "base"]
    old = run_report(pressure=False)
    assert "consumer lag (records)" not in [t.name for t in over_time(old).figure.data]


def test_each_periods_mean_goodput_is_its_tables_answered_per_second() -> None:
    report = run_report()
    means = period_goodput(report)
    assert means == pytest.approx({p.name: p.throughput_tps for p in report.phases}, abs=0.005)


def test_the_comparison_draws_each_designs_goodput_late_answers_and_retries_apart() -> None:
    charts = compare_charts(compare_report())
    names = [t.name for t in charts["compare-throughput"].figure.data]
    for design in ("baseline", "registry-overloaded"):
        for series in (GOODPUT, LATE, RETRIES, f"{GOODPUT}, period mean"):
            assert f"{design}: {series}" in names
    assert names.count(OFFERED) == 1  # the same arrivals on every design
    assert "compare-pressure" in charts
