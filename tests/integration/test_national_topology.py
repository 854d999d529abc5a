"""Every agency of the 2024 topology played at once, each its own Kafka client and identity."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from rich.console import Console

from loadtests.engine.run import execute
from services.config.settings import load_settings
from services.world.topology import load_topology

REPO = Path(__file__).resolve().parents[2]
TOPOLOGY = REPO / "loadtests" / "topologies" / "vn-2024.yaml"
PERIOD_S = 8  # 3200 arrivals: the seed's plan gives every agency three at least
NATIONAL = """
name: national-short
topology: {topology}
timeout_s: 15
warmup_s: 3
periods:
  - {{name: national, rate_per_s: 400, online_share: 0.42, duration_s: {seconds}}}
mix: {{verify: 0.70, lookup: 0.15, dossier: 0.12, death: 0.03}}
errors: {{wrong_name: 0.04, unknown_id: 0.02, unauthorised_lookup: 0.02}}
"""


async def test_all_81_agencies_of_the_national_topology_are_answered_through_two_workers(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    everyone = set(load_topology(TOPOLOGY).agencies())
    path = tmp_path / "national.yaml"
    path.write_text(NATIONAL.format(topology=TOPOLOGY, seconds=PERIOD_S))
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)

    report = await execute(
        path, tmp_path / "runs", settings, Console(quiet=True), live=False, workers=2
    )

    assert len(everyone) == 81
    assert (report.totals.lost, report.totals.incorrect, report.totals.timed_out) == (0, 0, 0)
    assert report.totals.answered == report.totals.sent == 400 * PERIOD_S
    assert {a for w in report.workers for a in w.agencies} == everyone
    assert all(w.finished for w in report.workers)
    assert report.paths is not None
    record = Path(report.paths.json_path).with_name("transactions.parquet")
    rows = pq.read_table(record, columns=["agency", "phase"])
    answered_by = {a for a, p in zip(*rows.to_pydict().values(), strict=True) if p == "national"}
    assert answered_by == everyone  # each agency, its own client, was answered in the period
    assert report.limited_by is not None
    phase = report.phases[0]
    print(
        f"81 agencies at 400/s: late sends {phase.late_sends / phase.sent:.1%}, "
        f"p99 {phase.latency_ms.p99:.0f} ms, limited by {report.limited_by.side}"
    )
