"""Verifications cross a real secured broker and a real registry process, and all are accounted
for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.engine.run import execute
from loadtests.report import load_report
from tests.support.libraries import design_on, each_library
from tests.support.secured import SecuredCluster, playing_on

REPO = Path(__file__).resolve().parents[2]
SCENARIO = """
name: thousand
topology: {topology}
agencies: [province.001, province.079, province.092, ministry.vss]
timeout_s: 10
periods:
  - {{name: burst, duration_s: 5, rate_per_s: 250, max_requests: 1000}}
errors: {{wrong_name: 0.05, wrong_birth_date: 0.05, unknown_id: 0.05, invalid_id: 0.05}}
"""


@pytest.fixture
def cluster(secured_demo: SecuredCluster) -> SecuredCluster:
    return secured_demo


@each_library
async def test_a_thousand_verifications_from_four_agencies_are_all_answered_correctly(
    cluster: SecuredCluster, tmp_path: Path, library: str
) -> None:
    scenario = tmp_path / "thousand.yaml"
    scenario.write_text(SCENARIO.format(topology=REPO / "loadtests/topologies/demo.yaml"))
    with playing_on(cluster) as settings:
        report = await execute(
            scenario,
            tmp_path / "runs",
            settings,
            Console(quiet=True),
            live=False,
            design_path=design_on(library, tmp_path),
        )
    phase = report.phases[0]
    assert phase.sent == 1000
    assert phase.answered == 1000
    assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0)
    assert len(phase.agencies) == 4
    assert set(phase.outcomes) == {"MATCH", "MISMATCH", "NOT_FOUND", "DECEASED", "REJECTED"}
    latest = tmp_path / "runs" / "latest" / "report.json"
    assert load_report(latest) == report
    on_disk = json.loads(latest.read_text())  # the file's own keys, as DESIGN.md names them
    for key in (
        "sent",
        "answered",
        "timed_out",
        "dead_lettered",
        "lost",
        "incorrect",
        "throughput_tps",
        "latency_ms",
    ):
        assert key in on_disk["phases"][0]
    assert set(on_disk["phases"][0]["latency_ms"]) == {"p50", "p95", "p99", "max"}
