"""A design's registry is the design's queue: on the real, secured broker its registry-side time
(request and registry hops) matches an ideal FIFO queue fed the same arrivals and the service
times the registry drew, at utilisation 0.5 and 0.8, fixed and lognormal, one and two instances.

The three runs share one secured cluster provisioned for the 2024 world: the designs differ in no
part of a one-node cluster's layout (the topics' partitions are the defaults), and each run's
registry group takes up where the last run committed. The runs below their capacity answer every
request; the overloaded run, which leaves requests nobody answered, comes last in this module."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.engine.run import execute
from loadtests.measure.growth import Meter
from loadtests.report import PhaseReport, RunReport
from services.world.topology import load_topology
from tests.support.secured import SecuredCluster, playing_on, secured_cluster

# Waits measured against an ideal queue: another test's CPU on the same cores would be in them.
pytestmark = pytest.mark.alone

REPO = Path(__file__).resolve().parents[2]
AGENCIES = "[province.001, province.079, province.048, ministry.vss, ministry.tax, ministry.health]"


def scenario(name: str, half: float, eighty: float) -> str:
    """Two periods at about half and 80% of the design's capacity, verifications only, after a
    warm-up long enough for a fresh broker to compile its hot paths (its first seconds are
    slower, and a p99 of a dozen seconds would show them)."""
    return f"""
name: {name}
topology: {REPO}/loadtests/topologies/vn-2024.yaml
agencies: {AGENCIES}
warmup_s: 8
periods:
  - {{name: rho05, rate_per_s: {half}, duration_s: 10}}
  - {{name: rho08, rate_per_s: {eighty}, duration_s: 10}}
mix: {{verify: 1.0}}
"""


def design(name: str, instances: int, slots: int, service_time: str) -> str:
    return f"""
# Question: does the registry queue as {instances} x M/G/{slots} would?
name: {name}
registry:
  instances: {instances}
  concurrency: {slots}
  service_time: {service_time}
requesters: {{timeout_s: 10}}
security: {{enabled: true}}
"""


@pytest.fixture(scope="module")
def vn_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredCluster]:
    topology = load_topology(REPO / "loadtests" / "topologies" / "vn-2024.yaml")
    with secured_cluster(tmp_path_factory.mktemp("queue-cluster"), topology) as cluster:
        yield cluster


async def play(
    cluster: SecuredCluster, tmp_path: Path, scenario_text: str, design_text: str
) -> RunReport:
    scenario_file, design_file = tmp_path / "scenario.yaml", tmp_path / "design.yaml"
    scenario_file.write_text(scenario_text, encoding="utf-8")
    design_file.write_text(design_text, encoding="utf-8")
    with playing_on(cluster) as settings:
        return await execute(
            scenario_file,
            tmp_path / "runs",
            settings,
            Console(quiet=True),
            live=False,
            design_path=design_file,
            workers=1,
        )


def assert_queues_as_the_ideal(phase: PhaseReport, utilisation: float) -> None:
    assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0), phase
    queue = phase.queue
    assert queue is not None, phase.name
    assert queue.utilisation == pytest.approx(utilisation, abs=0.08), queue
    assert queue.measured is not None and queue.ideal is not None, queue
    for measured, ideal in (
        (queue.measured.p50_ms, queue.ideal.p50_ms),
        (queue.measured.p99_ms, queue.ideal.p99_ms),
    ):
        assert abs(measured - ideal) <= max(0.10 * ideal, 5.0), queue
    assert queue.within, queue


async def test_one_instance_with_fixed_service_times_queues_as_its_ideal_m_d_8(
    vn_cluster: SecuredCluster, tmp_path: Path
) -> None:
    report = await play(
        vn_cluster,
        tmp_path,
        scenario("queue-fixed", 100, 160),
        design("fixed-8x40", 1, 8, "{model: fixed, ms: 40}"),
    )
    half, eighty = report.phases
    assert_queues_as_the_ideal(half, 0.5)
    assert_queues_as_the_ideal(eighty, 0.8)
    assert half.queue is not None and half.queue.capacity_tps == pytest.approx(200)
    # Below the knee the registry-side time is the database's own 40 ms, not a batch's wait.
    assert half.queue.measured is not None and half.queue.measured.p50_ms < 50


async def test_two_instances_with_lognormal_service_times_queue_as_their_ideal_m_g_4(
    vn_cluster: SecuredCluster, tmp_path: Path
) -> None:
    # p50 40 ms, p99 120 ms: mean 44.7 ms, so 2 x 4 slots answer about 179/s.
    report = await play(
        vn_cluster,
        tmp_path,
        scenario("queue-lognormal", 90, 143),
        design("lognormal-2x4", 2, 4, "{model: lognormal, p50_ms: 40, p99_ms: 120}"),
    )
    half, eighty = report.phases
    assert_queues_as_the_ideal(half, 0.5)
    assert_queues_as_the_ideal(eighty, 0.8)
    assert half.queue is not None and half.queue.instances_answering == 2


async def test_past_its_capacity_the_registry_is_named_and_its_wasted_work_counted(
    vn_cluster: SecuredCluster, tmp_path: Path
) -> None:
    overload = f"""
name: overload
topology: {REPO}/loadtests/topologies/vn-2024.yaml
agencies: {AGENCIES}
warmup_s: 2
periods:
  - {{name: over140, rate_per_s: 140, duration_s: 8}}
  - {{name: over210, rate_per_s: 210, duration_s: 8}}
mix: {{verify: 1.0}}
"""
    design_text = (REPO / "deploy" / "designs" / "registry-overloaded.yaml").read_text("utf-8")
    with pytest.MonkeyPatch.context() as patch:
        # At each period's end the run's meter waits, up to 15 s, for the registry's count to
        # stand still. Past its capacity it never does (its backlog outlasts the period), so the
        # whole bound would be waited out at every mark: here the bound is a second.
        patch.setattr(Meter, "mark", functools.partialmethod(Meter.mark, settle_s=1.0))
        report = await play(vn_cluster, tmp_path, overload, design_text)
    assert report.totals.lost == 0 and report.totals.incorrect == 0, report.totals
    assert report.totals.timed_out > 0  # requesters gave up on the growing queue, counted
    for phase in report.phases:
        assert phase.queue is not None and phase.queue.utilisation > 1.2, phase.queue
    assert report.limited_by is not None and report.limited_by.side == "design"
    assert "registry capacity 100/s (4 slots × 40 ms, 1 instance)" in report.limited_by.reason
    assert "already timed out" in report.limited_by.reason
