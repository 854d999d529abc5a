"""Designs as data on real local clusters: a broker crash under replication 3 and 1, and one
scenario compared on two designs that differ in one knob."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from loadtests.compare import compare
from loadtests.reportmodel import RunReport
from loadtests.run import execute
from services.shared.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
DESIGNS = REPO / "deploy" / "designs"
CRASH = REPO / "loadtests" / "scenarios" / "broker-crash.yaml"  # node 2 killed at 8 s for 6 s
SINGLE_COPY = """
# Question: what does a broker crash cost when every partition has one copy?
name: three-brokers-one-copy
cluster: {brokers: 3, replication_factor: 1, min_insync_replicas: 1, heap: 512m}
registry: {instances: 2}
requesters: {timeout_s: 2, retries: 6, backoff: 1.5, retry_budget: 5}
"""
RETURNING = f"""
name: returning
topology: {REPO}/loadtests/topologies/demo.yaml
agencies: [province.001, ministry.vss, ministry.tax]
returning: 0.7
periods:
  - {{name: p, duration_s: 20, rate_per_s: 100}}
mix: {{verify: 1.0}}
errors: {{wrong_name: 0.05, unknown_id: 0.02}}
"""


def local(**changes: object) -> Settings:
    """Every run here starts its own local cluster, as the design says."""
    return load_settings().model_copy(update={"kafka_bootstrap_servers": None, **changes})


async def crash(tmp_path: Path, design: Path) -> RunReport:
    return await execute(
        CRASH, tmp_path / "runs", local(), Console(quiet=True), live=False, design_path=design
    )


async def test_killing_a_broker_of_three_with_replication_3_loses_nothing_and_times_out_nothing(
    tmp_path: Path,
) -> None:
    report = await crash(tmp_path, DESIGNS / "ha-three-brokers.yaml")
    phase = report.phases[0]
    assert phase.sent > 1500
    assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0), phase
    [fault] = report.faults
    assert (fault.action, fault.node) == ("kill_broker", 2)
    assert fault.outage is not None and fault.outage.down_s >= 6
    assert report.design is not None and report.design.settings.cluster.replication_factor == 3


async def test_the_same_crash_with_one_copy_shows_the_outage_and_its_recovery(
    tmp_path: Path,
) -> None:
    design = tmp_path / "one-copy.yaml"
    design.write_text(SINGLE_COPY, encoding="utf-8")
    report = await crash(tmp_path, design)
    phase = report.phases[0]
    assert (phase.lost, phase.incorrect) == (0, 0), phase
    [fault] = report.faults
    assert fault.outage is not None and fault.recovered_s >= 6
    # Requests on the dead broker's partitions wait for it: latency shows the whole outage.
    assert phase.latency_ms.max >= 4000, phase.latency_ms
    start = next(s.t for s in report.timeline if s.phase == "load")
    # Under CPU contention the stalled answers may land in any second after the crash.
    after = [s for s in report.timeline if s.t >= start + 8]
    before = [s for s in report.timeline if start + 1 <= s.t < start + 8]
    assert max(s.latency_ms.p99 for s in after) >= 2000
    assert max(s.latency_ms.p99 for s in after) > max(s.latency_ms.p99 for s in before)


async def test_compare_plays_one_workload_on_two_designs_and_the_cache_spares_the_registry(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "returning.yaml"
    scenario.write_text(RETURNING, encoding="utf-8")
    designs = [DESIGNS / "baseline.yaml", DESIGNS / "ministry-cache.yaml"]
    report = await compare(scenario, designs, tmp_path / "runs", local(), Console(quiet=True))
    base, cached = report.results
    assert (base.design, cached.design) == ("baseline", "ministry-cache")
    for r in report.results:
        t = r.run.totals
        assert (t.lost, t.incorrect, t.timed_out) == (0, 0, 0), (r.design, t)
    assert base.run.totals.sent == cached.run.totals.sent  # the same arrivals
    assert base.run.cache is None
    assert cached.run.cache is not None and cached.run.cache.hit_ratio > 0.2
    registry_base, registry_cached = (
        base.registry_answers("verify"),
        cached.registry_answers("verify"),
    )
    assert registry_base >= base.run.totals.sent * 0.98  # the registry counted every verification
    assert registry_cached <= registry_base * 0.85, (registry_cached, registry_base)
    assert abs((registry_base - registry_cached) - cached.run.cache.hits) <= registry_base * 0.02
    assert report.paths is not None
    written = [Path(report.paths.json_path), Path(report.paths.html_path)]
    assert all(await asyncio.to_thread(lambda: [p.exists() for p in written]))
    assert any("ministry-cache" in line and "registry answered" in line for line in report.summary)
