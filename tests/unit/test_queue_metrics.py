"""The registry's queue as its metrics tell it: slot-wait percentiles from the histogram's bucket
increases, and slots busy and consumer lag over a period's own span of scrapes."""

from __future__ import annotations

import pytest

from loadtests.measure.counters import GaugeStat, GaugeSums, Increases, Series, bucket_quantile
from loadtests.measure.growth import LAG, SLOT_WAIT_BUCKETS, SLOTS_BUSY, Meter, snapshot

REGISTRY = (("service", "registry"),)


def bucket(le: str) -> Series:
    return (SLOT_WAIT_BUCKETS, (("le", le), *REGISTRY))


def test_a_quantile_is_interpolated_within_its_bucket_as_prometheus_does() -> None:
    cumulative = {0.001: 50.0, 0.01: 90.0, 0.1: 100.0, float("inf"): 100.0}
    assert bucket_quantile(0.5, cumulative) == pytest.approx(0.001)
    assert bucket_quantile(0.7, cumulative) == pytest.approx(0.001 + 0.009 * 20 / 40)
    assert bucket_quantile(0.99, cumulative) == pytest.approx(0.01 + 0.09 * 9 / 10)
    assert bucket_quantile(0.5, {0.1: 0.0, float("inf"): 0.0}) is None
    assert bucket_quantile(0.99, {0.1: 0.0, float("inf"): 10.0}) == 0.1  # past the last bound


def test_each_period_gets_the_slot_waits_its_buckets_grew_by() -> None:
    meter = Meter([], [])
    inc = Increases()
    inc.add("9101", {bucket("0.01"): 5.0, bucket("0.1"): 5.0, bucket("+Inf"): 5.0}, 1.0)
    meter.marks.append(snapshot(inc.total))  # after the warm-up
    inc.add("9101", {bucket("0.01"): 105.0, bucket("0.1"): 105.0, bucket("+Inf"): 105.0}, 1.0)
    meter.marks.append(snapshot(inc.total))
    inc.add("9101", {bucket("0.01"): 105.0, bucket("0.1"): 205.0, bucket("+Inf"): 205.0}, 1.0)
    meter.marks.append(snapshot(inc.total))
    meter.gauge_marks = [{}, {}, {}]
    first, second = meter.queue(0), meter.queue(1)
    assert first is not None and first.slot_wait is not None and first.waits == 100
    assert first.slot_wait.p99_ms == pytest.approx(9.9)
    assert second is not None and second.slot_wait is not None and second.waits == 100
    assert second.slot_wait.p50_ms == pytest.approx(55.0)  # all 100 waited 10 to 100 ms


def test_gauges_are_summed_over_instances_and_read_over_the_periods_span_only() -> None:
    busy: Series = (SLOTS_BUSY, REGISTRY)
    lag: Series = (LAG, (("group", "ndx.registry"), ("topic", "ndx.verify.requests")))
    gauges = GaugeSums()
    gauges.add([{busy: 8.0}], at=1.0)  # between periods: not the period's
    for t, (one, two) in enumerate(((3.0, 1.0), (4.0, 4.0), (2.0, 2.0)), start=10):
        gauges.add([{busy: one, lag: 10.0 * t}, {busy: two}], at=float(t))
    gauges.add([{busy: 8.0}], at=30.0)  # settling after it: not the period's either
    taken = gauges.take(since=9.5, until=12.0)
    assert taken[SLOTS_BUSY] == GaugeStat(peak=8.0, mean=16.0 / 3)
    assert taken[LAG] == GaugeStat(peak=120.0, mean=110.0)
    assert gauges.take() == {}  # the next span starts empty
