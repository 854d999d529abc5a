"""Splitting the load: every worker regenerates one plan, shares are disjoint, histograms add."""

from __future__ import annotations

import random
from pathlib import Path

from prometheus_client import REGISTRY

from loadtests.engine.capacity import knee_of
from loadtests.engine.workerreport import limited_by
from loadtests.measure.ledger import PhaseLedger, add, latency_summary, new_histogram
from loadtests.play.driver import owner_of
from loadtests.report import CapacityStep, ComponentCpu, CpuReport
from loadtests.scenario.agencies import played_agencies
from loadtests.scenario.model import Scenario
from loadtests.scenario.parts import Mix, Period
from loadtests.scenario.schedule import Scheduler
from loadtests.workers.coordinator import split
from loadtests.workers.mirror import CounterSample, Mirror
from loadtests.workers.workplan import PeriodDone
from services.wire.messages import Outcome
from tests.support.inproc import DEMO_TOPOLOGY, demo_topology
from tests.support.reports import worker_report

SCENARIO = Scenario(
    name="shares",
    topology=str(DEMO_TOPOLOGY),
    periods=[Period(name="p", duration_s=10, rate_per_s=300, online_share=0.37)],
    mix=Mix(verify=0.6, lookup=0.2, dossier=0.15, death=0.05),
)


def test_shares_of_the_same_plan_are_disjoint_and_together_are_the_whole_plan() -> None:
    agencies = played_agencies(SCENARIO, demo_topology(), Path("shares.yaml"))
    shares = split(agencies, 3)
    assert sorted(a for s in shares for a in s.agencies) == sorted(a.agency for a in agencies)
    period = SCENARIO.periods[0]
    whole = Scheduler(SCENARIO, agencies, 7).plan(period, 1)
    parts = [Scheduler(SCENARIO, agencies, 7).plan(period, 1, s.agencies) for s in shares]
    assert all(p.planned == whole.planned == len(whole.arrivals) for p in parts)
    merged = sorted((a for p in parts for a in p.arrivals), key=lambda a: a.seq)
    assert merged == whole.arrivals
    dossiers = [a.channel for a in whole.arrivals if a.flow == "dossier"]
    assert abs(dossiers.count("ONLINE") / len(dossiers) - 0.37) < 0.01


def test_each_citizen_belongs_to_exactly_one_share() -> None:
    ids = [f"{random.Random(i).getrandbits(40):012d}" for i in range(2000)]
    owners = [owner_of(cid, 4) for cid in ids]
    assert set(owners) == {0, 1, 2, 3}
    assert owners == [owner_of(cid, 4) for cid in ids]


def test_merged_percentiles_come_from_added_histograms_not_averages() -> None:
    fast, slow = PhaseLedger("p", 1.0), PhaseLedger("p", 1.0)
    for i in range(990):
        fast.record("verify", Outcome.MATCH, True, 0.005 + i * 1e-6)
    for _ in range(10):
        slow.record("verify", Outcome.MATCH, True, 2.0)
    merged = PhaseLedger("p", 1.0)
    for part in (fast, slow):
        done = PeriodDone(run_id="r", worker="w", period=1, ledger=part)
        add(merged, PeriodDone.model_validate_json(done.model_dump_json()).ledger)
    expected = new_histogram()
    expected.add(fast.latency)
    expected.add(slow.latency)
    assert merged.answered == 1000
    assert latency_summary(merged.latency) == latency_summary(expected)
    assert latency_summary(merged.latency).p99 < 10  # 99% are fast: an average of p99s is not


_worker = worker_report


def _cpu(registry_cores: float) -> CpuReport:
    part = ComponentCpu(
        component="registry",
        ms_per_transaction=0.1,
        cores=registry_cores,
        peak_cores=registry_cores,
    )
    return CpuReport(parts=[part], total_ms_per_transaction=0.1, window_s=10, cpus=2)


def test_the_side_that_limited_a_run_is_named() -> None:
    assert limited_by([_worker(0.95)], 0.0, _cpu(0.2), {"registry": 1}).side == "generator"
    assert limited_by([_worker(0.3)], 0.2, _cpu(0.2), {"registry": 1}).side == "generator"
    assert limited_by([_worker(0.3)], 0.0, _cpu(0.95), {"registry": 1}).side == "simulation"
    assert limited_by([_worker(0.3)], 0.0, _cpu(0.95), {"registry": 2}).side == "design"


def test_late_sends_on_a_full_machine_say_the_workers_shared_its_cores() -> None:
    parts = [
        ComponentCpu(component=c, ms_per_transaction=0.5, cores=k, peak_cores=k)
        for c, k in (("worker", 0.8), ("broker", 0.55), ("registry", 0.4))
    ]
    full = CpuReport(parts=parts, total_ms_per_transaction=1.75, window_s=60, cpus=2)

    limit = limited_by([_worker(0.4), _worker(0.4)], 0.045, full, {"registry": 1})
    assert limit.side == "generator"
    assert "1.75 of the machine's 2 cores" in limit.reason
    assert "worker 0.80, broker 0.55, registry 0.40" in limit.reason
    quiet = limited_by([_worker(0.4)], 0.045, _cpu(0.2), {"registry": 1})
    assert "machine" not in quiet.reason  # late on an idle machine: the generator's own doing


def _step(rate: float, passed: bool, side: str) -> CapacityStep:
    return CapacityStep(
        rate=rate,
        throughput_tps=rate,
        p50_ms=1,
        p99_ms=2,
        timed_out=0,
        late_sends=0,
        lost=0,
        incorrect=0,
        passed=passed,
        failed=[],
        limited_by=side,
    )


def test_a_knee_found_while_the_generator_limited_is_the_generators() -> None:
    steps = [_step(100, True, "design"), _step(150, False, "generator"), _step(125, True, "design")]
    assert knee_of(steps, 150) == "generator"
    steps[1] = _step(150, False, "design")
    assert knee_of(steps, 150) == "design"


def test_workers_counters_grow_the_drivers_own_by_what_they_grew() -> None:
    labels = {"requester": "ministry.unit-mirror"}
    before = REGISTRY.get_sample_value("ndx_driver_late_sends_total", labels) or 0.0
    mirror = Mirror()
    for value in (3.0, 5.0, 5.0):
        mirror.take("w1", [CounterSample(name="ndx_driver_late_sends", labels=labels, value=value)])
    mirror.take("w2", [CounterSample(name="ndx_driver_late_sends", labels=labels, value=2.0)])
    assert REGISTRY.get_sample_value("ndx_driver_late_sends_total", labels) == before + 7.0
