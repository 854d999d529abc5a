"""The ideal FIFO queue a design's registry is held to gives queueing theory's known answers, and
the per-period sample it is fed survives thinning, merging and the trip through a worker message."""

from __future__ import annotations

import math
import random

import pytest

from loadtests.measure.ledger import PhaseLedger
from loadtests.measure.queueing import close_enough, fifo_sojourns, queue_report
from loadtests.measure.queuesample import WINDOW_US, QueueLedger, QueueSample
from loadtests.report.queue import Spread
from loadtests.workers.results import WorkerState, late_by_requester, period_queue
from loadtests.workers.workplan import PeriodDone
from services.config.design import Design, RegistryDesign, ServiceTime
from services.requester.pending import Result
from services.wire.messages import Outcome, VerificationAnswered
from services.wire.stamps import Stamps

T0 = 1_700_000_000_000_000  # µs on the wall clock, a multiple of the sampling window


def poisson(rate_per_us: float, n: int, rng: random.Random) -> list[int]:
    t, out = 0.0, []
    for _ in range(n):
        t += rng.expovariate(rate_per_us)
        out.append(round(t))
    return out


def erlang_c_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = arrival_rate / service_rate
    rho = a / servers
    top = a**servers / math.factorial(servers) / (1 - rho)
    waiting = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return waiting / (servers * service_rate - arrival_rate)


def test_with_arrivals_spaced_wider_than_the_service_time_nothing_waits() -> None:
    arrivals = [i * 50_000 for i in range(200)]
    assert fifo_sojourns(arrivals, [40_000] * 200, servers=1) == [40_000] * 200
    assert fifo_sojourns(arrivals, [40_000] * 200, servers=4) == [40_000] * 200


def test_a_burst_of_twice_the_servers_leaves_half_a_service_time_later() -> None:
    servers, service = 4, 40_000
    sojourns = fifo_sojourns([T0] * (2 * servers), [service] * (2 * servers), servers)
    assert sorted(sojourns) == [service] * servers + [2 * service] * servers
    assert sojourns[:servers] == [service] * servers  # first come, first served


def test_jobs_given_out_of_order_are_served_in_arrival_order() -> None:
    sojourns = fifo_sojourns([30, 0, 10], [100, 100, 100], servers=1)
    assert sojourns == [270, 100, 190]


def test_m_m_c_mean_wait_matches_erlang_c_at_80_percent_utilisation() -> None:
    rng = random.Random(19)
    servers, service_us, n = 4, 10_000.0, 400_000
    rate = 0.8 * servers / service_us  # per µs
    arrivals = poisson(rate, n, rng)
    services = [round(rng.expovariate(1 / service_us)) for _ in range(n)]
    sojourns = fifo_sojourns(arrivals, services, servers)
    skip = n // 20  # the queue starts empty
    waits = [s - x for s, x in zip(sojourns[skip:], services[skip:], strict=True)]
    expected = erlang_c_wait(servers, rate, 1 / service_us)
    assert sum(waits) / len(waits) == pytest.approx(expected, rel=0.05)


def test_m_d_1_mean_wait_matches_pollaczek_khinchine() -> None:
    rng = random.Random(6)
    service_us, rho, n = 20_000, 0.7, 300_000
    arrivals = poisson(rho / service_us, n, rng)
    sojourns = fifo_sojourns(arrivals, [service_us] * n, servers=1)
    waits = [s - service_us for s in sojourns[n // 20 :]]
    expected = rho * service_us / (2 * (1 - rho))
    assert sum(waits) / len(waits) == pytest.approx(expected, rel=0.05)


def _sample(rows: list[tuple[str, int, int, int]]) -> QueueSample:
    sample = QueueSample()
    for row in rows:
        sample.add(*row)
    return sample


def _rows(sample: QueueSample) -> list[tuple[str, int, int, int]]:
    return sorted(
        (sample.responders[w], a, b, s)
        for w, a, b, s in zip(
            sample.who, sample.append_us, sample.answered_us, sample.service_us, strict=True
        )
    )


def test_a_sample_reads_back_equal_after_encoding() -> None:
    rng = random.Random(3)
    rows = [
        (
            f"registry-{rng.randrange(3)}",
            T0 + t,
            T0 + t + rng.randrange(50_000),
            rng.randrange(1, 90_000),
        )
        for t in poisson(0.001, 5_000, rng)
    ]
    sample = _sample(rows)
    sample.offered = 5_100
    back = QueueSample.decode(sample.encode())
    assert _rows(back) == sorted(rows)
    assert (back.offered, back.stride) == (5_100, 1)
    assert QueueSample.decode("").offered == 0


def test_a_sample_too_big_for_its_message_keeps_whole_windows_of_every_other_one() -> None:
    rng = random.Random(4)
    rows = [
        ("r", T0 + t, T0 + t + rng.randrange(90_000), rng.randrange(1, 80_000))
        for t in poisson(0.002, 80_000, rng)
    ]
    sample = _sample(rows)
    text = sample.encode(max_chars=200_000)
    assert len(text) <= 200_000
    back = QueueSample.decode(text)
    assert back.stride > 1
    kept = {a // WINDOW_US for _, a, _, _ in _rows(back)}
    assert all(w % back.stride == 0 for w in kept)
    whole = [r for r in rows if (r[1] // WINDOW_US) % back.stride == 0]
    assert _rows(back) == sorted(whole)  # a kept window keeps every one of its rows


def test_workers_samples_merge_on_the_coarser_windows() -> None:
    one = _sample([("a", T0 + k * WINDOW_US, T0 + k * WINDOW_US + 5, 1) for k in range(4)])
    two = _sample([("b", T0 + k * WINDOW_US + 7, T0 + k * WINDOW_US + 9, 1) for k in range(4)])
    two.thin(2)
    one.offered, two.offered = 10, 20
    one.merge(two)
    assert one.stride == 2 and one.offered == 30
    assert {(r, a - T0) for r, a, _, _ in _rows(one)} == {
        ("a", 0),
        ("a", 2 * WINDOW_US),
        ("b", 7),
        ("b", 2 * WINDOW_US + 7),
    }


def _result(
    attempts: int = 1, service_us: int = 30_000, outcome: Outcome = Outcome.MATCH
) -> Result:
    answer = VerificationAnswered(
        "r1", "ministry.vss", "registry-1", outcome, T0 + 50_000, service_us=service_us
    )
    stamps = Stamps(T0, T0 + 100, T0 + 60_000, T0 // 1000 + 1, T0 + 5_000, T0 + 50_000, 0)
    return Result(outcome, answer, 0.06, attempts, stamps)


def test_the_ledger_samples_first_attempts_with_a_service_time_and_counts_every_attempt() -> None:
    ledger = QueueLedger()
    ledger.record("p", _result())
    ledger.record("p", _result(attempts=2))  # its stamps may mix attempts: offered, not sampled
    ledger.record("p", _result(service_us=0))  # no service-time model: nothing to compare
    ledger.record("p", Result(Outcome.TIMEOUT, None, 5.0, 1))
    ledger.record("p", Result(Outcome.MATCH, None, 0.001))  # a ministry's replica answered
    sample = ledger.take("p")
    assert sample.offered == 5
    assert _rows(sample) == [("registry-1", T0 + 1_500, T0 + 50_000, 30_000)]  # mid-millisecond
    assert len(ledger.take("p")) == 0


def _design(instances: int = 1, concurrency: int = 4, ms: float = 40.0) -> Design:
    registry = RegistryDesign(
        instances=instances,
        concurrency=concurrency,
        service_time=ServiceTime(model="fixed", ms=ms),
    )
    return Design(name="d", registry=registry)


def test_the_report_states_capacity_offered_rate_and_utilisation() -> None:
    arrivals = [T0 + t for t in poisson(70 / 1e6, 4_200, random.Random(5))]  # 70/s, a minute
    ideal = fifo_sojourns(arrivals, [40_000] * len(arrivals), servers=4)
    sample = QueueSample()
    for t, sojourn in zip(arrivals, ideal, strict=True):  # the platform adds 2 ms to each
        sample.add("registry-1", t, t + sojourn + 2_000, 40_000)
    sample.offered = 4_200
    report = queue_report(_design(), 60.0, sample, timed_out=0)
    assert report is not None
    assert report.capacity_tps == pytest.approx(100.0)
    assert report.offered_tps == pytest.approx(70.0)
    assert report.utilisation == pytest.approx(0.7)
    assert report.measured is not None and report.ideal is not None and report.added is not None
    assert report.added == Spread(p50_ms=2.0, p99_ms=2.0)
    assert report.ideal.p99_ms > report.ideal.p50_ms >= 40.0  # some requests queued
    assert report.within
    assert report.instances_answering == 1
    assert queue_report(Design(name="plain"), 60.0, sample) is None  # no model, no queue


def test_within_means_10_percent_or_5_ms_whichever_is_larger() -> None:
    ideal = Spread(p50_ms=20.0, p99_ms=200.0)
    assert close_enough(Spread(p50_ms=24.9, p99_ms=219.0), ideal)
    assert not close_enough(Spread(p50_ms=25.1, p99_ms=200.0), ideal)
    assert not close_enough(Spread(p50_ms=20.0, p99_ms=221.0), ideal)


def test_each_workers_period_message_carries_its_sample_and_the_coordinator_adds_them() -> None:
    workers = []
    for n, responder in enumerate(("registry-1", "registry-2")):
        sample = _sample(
            [
                (responder, T0 + n * 10 + k * 1_000, T0 + k * 1_000 + 50_000, 40_000)
                for k in range(100)
            ]
        )
        sample.offered = 120
        ledger = PhaseLedger("2024H1", 10.0)
        ledger.queue = sample.encode()
        ledger.late_by_requester.update({"ministry.vss": 3, f"province.00{n}": 1})
        done = PeriodDone(run_id="r", worker=f"w{n}", period=1, ledger=ledger)
        wire = PeriodDone.model_validate_json(done.model_dump_json()).ledger  # as the topic has it
        workers.append(WorkerState(f"w{n}", periods={1: wire}))
    died = WorkerState("w9", periods={})
    merged, missing = period_queue(1, [*workers, died])
    assert (len(merged), merged.offered, missing) == (200, 240, 0)
    assert sorted(merged.responders) == ["registry-1", "registry-2"]
    assert late_by_requester(1, workers) == {
        "ministry.vss": 6,
        "province.000": 1,
        "province.001": 1,
    }
