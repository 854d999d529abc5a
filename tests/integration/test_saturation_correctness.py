"""At saturation on the real broker: a registry driven past its capacity, deaths overtaking the
queued requests about the same citizens, retries on, and the workers' group rebalancing
mid-period. Every answer is judged against the citizen's record at the version it was decided
on, so none is incorrect and none is lost."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

import pyarrow.parquet as pq
from rich.console import Console

from loadtests.engine.run import execute
from loadtests.measure.oprecord import FILE_NAME
from loadtests.stack.runtopics import WORK_SHARES
from loadtests.workers.workplan import SESSION_TIMEOUT_S, workers_group
from services.config.settings import load_settings
from services.kafka.plain import GroupMember
from tests.support.waiting import wait_for_async

REPO = Path(__file__).resolve().parents[2]
RATE = 180  # per second, of which 80% take a database slot: 144/s, past 2 slots x 16 ms (125/s)
SCENARIO = f"""
name: saturation
topology: {REPO}/loadtests/topologies/demo.yaml
agencies: [province.001, province.079, ministry.vss, ministry.tax, ministry.justice]
timeout_s: 1
retries: 2
retry_budget: 1
periods:
  - {{name: saturated, duration_s: 12, rate_per_s: {RATE}, online_share: 0.4}}
mix: {{verify: 0.55, lookup: 0.15, dossier: 0.1, death: 0.2}}
errors: {{wrong_name: 0.04, wrong_birth_date: 0.02, unknown_id: 0.02, no_legal_basis: 0.01}}
"""
SLOW_REGISTRY = (
    (REPO / "deploy" / "designs" / "baseline.yaml")
    .read_text()
    .replace("service_time: {model: none}", "service_time: {model: fixed, ms: 16}")
    .replace("concurrency: 64 ", "concurrency: 2 ")
    .replace("name: baseline", "name: saturated-registry")
)
INTRUDER = "0-intruder"  # sorts before the workers: the group hands it the first share


def _playing(runs: Path, run_id: str) -> bool:
    logs = (runs / run_id / "logs").glob("worker-*.log")
    return any("plays period 1" in p.read_text("utf-8", "replace") for p in logs)


async def _rebalance_workers_mid_period(bootstrap: str, runs: Path, run_id: str) -> None:
    """Once the workers play, a stranger joins their group for a while, then leaves: two
    rebalances, and one worker is handed a share it did not claim."""
    await wait_for_async(lambda: _playing(runs, run_id), 120, "a worker playing period 1")
    await asyncio.sleep(2.0)  # the scenario: the stranger joins two seconds into the period
    intruder = GroupMember(
        bootstrap, WORK_SHARES.name, workers_group(run_id), INTRUDER, None, 10.0, SESSION_TIMEOUT_S
    )
    await intruder.start()
    try:
        joined = time.monotonic() + 20
        while not intruder.assignment() and time.monotonic() < joined:
            await intruder.getmany(timeout_ms=200)
        await asyncio.sleep(3.0)  # the scenario: it holds its share for three seconds, then leaves
    finally:
        await intruder.stop()


async def test_at_saturation_with_deaths_racing_requests_no_answer_is_incorrect_or_lost(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    scenario, design = tmp_path / "saturation.yaml", tmp_path / "design.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    design.write_text(SLOW_REGISTRY, encoding="utf-8")
    runs, run_id = tmp_path / "runs", f"saturation-{os.getpid()}-{time.time_ns()}"
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    rebalancing = asyncio.create_task(_rebalance_workers_mid_period(kafka_bootstrap, runs, run_id))
    try:
        report = await execute(
            scenario,
            runs,
            settings,
            Console(quiet=True),
            live=False,
            design_path=design,
            run_id=run_id,
            workers=2,
        )
        await asyncio.wait_for(rebalancing, 30)
    finally:
        rebalancing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rebalancing
    phase = report.phases[0]
    assert (phase.lost, phase.incorrect) == (0, 0), phase.incorrect_examples
    assert phase.retries > 0  # requests waited past their timeout: the queue was long
    assert phase.raced > 0  # deaths overtook queued requests about the same citizens
    assert any(w.taken_over for w in report.workers)  # the rebalance came mid-period
    assert all(w.finished for w in report.workers)
    rows = pq.read_table(runs / run_id / FILE_NAME).to_pylist()
    assert len(rows) == phase.sent + (report.warmup.sent if report.warmup else 0)
    assert all(r["correct"] for r in rows if r["outcome"] != "TIMEOUT")
    print(
        f"saturated at {RATE}/s: sent {phase.sent}, raced {phase.raced}, retries "
        f"{phase.retries}, timed out {phase.timed_out}, p50 {phase.latency_ms.p50:.0f} ms"
    )
