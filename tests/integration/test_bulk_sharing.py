"""A bulk reconciliation beside the counters on the real, secured broker, on the three shipped
bulk designs: every one of 20,000 sellers answered once and right against the truth on each;
on the shared lane the counters' verify p99 gets worse while the job runs, on a lane of its own
or under a produce quota it stays within a stated factor of the same run's quiet period, and the
quota's throttle shows in the report. Each design starts its own cluster (quotas are applied by
its admin); the runs measure latency, so the module runs alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.engine.run import execute
from loadtests.report import BulkJobReport, RunReport
from services.config.settings import Settings, load_settings

pytestmark = pytest.mark.alone

REPO = Path(__file__).resolve().parents[2]
DESIGNS = REPO / "deploy" / "designs"
SELLERS = 20_000
FACTOR = 4.0  # lane and quota: the verify p99 during the job within 4x the quiet period's
FLOOR_MS = 10.0  # ...of at least 10 ms (a quiet p99 of a few ms is scheduling noise)
SCENARIO = f"""
name: bulk-beside-counters
topology: {REPO}/loadtests/topologies/vn-2024.yaml
agencies: [province.001, province.079, province.048, ministry.vss, ministry.health]
timeout_s: 10
warmup_s: 4
periods:
  - {{name: quiet, rate_per_s: 150, duration_s: 10}}
  - {{name: job, rate_per_s: 150, duration_s: 15}}
mix: {{verify: 1.0}}
errors: {{wrong_name: 0.03, unknown_id: 0.02}}
bulk:
  - name: sellers
    period: job
    at_s: 1
    individuals: {SELLERS - 4_000}
    enterprises: 4000
    deadline_s: 120
    faults: {{wrong_name: 0.02, wrong_birth_date: 0.01, unknown_id: 0.01, invalid_id: 0.005,
              deceased: 0.005}}
"""


def local() -> Settings:
    """A run that starts its own secured cluster, as its design says."""
    return load_settings().model_copy(update={"kafka_bootstrap_servers": None})


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunReport]:
    home = tmp_path_factory.mktemp("bulk")
    scenario = home / "bulk.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    played = {}
    for design in ("bulk-shared", "bulk-lane", "bulk-quota"):
        played[design] = asyncio.run(
            execute(
                scenario,
                home / "runs",
                local(),
                Console(quiet=True),
                live=False,
                design_path=DESIGNS / f"{design}.yaml",
                run_id=f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{design}",
            )
        )
    return played


def job_of(report: RunReport) -> BulkJobReport:
    assert report.bulk is not None
    [job] = report.bulk.jobs
    return job


def verify_p99(report: RunReport, period: str) -> float:
    phase = next(p for p in report.phases if p.name == period)
    assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0), phase
    return phase.flow_latency_ms["verify"].p99


@pytest.mark.parametrize("design", ["bulk-shared", "bulk-lane", "bulk-quota"])
def test_every_seller_is_answered_once_and_right_against_the_truth(
    reports: dict[str, RunReport], design: str
) -> None:
    report = reports[design]
    job = job_of(report)
    assert (job.items, job.answered, job.correct) == (SELLERS, SELLERS, SELLERS), job.wrong
    assert (job.lost, job.incorrect, job.duplicates, job.strays) == (0, 0, 0, 0)
    assert job.met_deadline
    assert {"MATCH", "MISMATCH", "NOT_FOUND", "DECEASED", "REJECTED"} <= set(job.outcomes)
    bulk = report.bulk
    assert bulk is not None
    # the services' own counters: the registry answered each item once, the tax authority
    # found the same taxable sellers the driver judged taxable
    assert bulk.bulk_items_counted == SELLERS
    assert bulk.taxable_counted == {k: float(v) for k, v in job.taxable.items()}
    assert report.slo.passed or all(
        not c.name.startswith("bulk.") for c in report.slo.checks if not c.passed
    )


def test_a_bulk_job_on_the_shared_lane_makes_the_counters_wait(
    reports: dict[str, RunReport],
) -> None:
    report = reports["bulk-shared"]
    quiet, during = verify_p99(report, "quiet"), verify_p99(report, "job")
    assert during > 2 * quiet, (quiet, during)
    assert report.bulk is not None
    assert [(lane.lane, lane.bulk) for lane in report.bulk.lanes] == [("shared", SELLERS)]


@pytest.mark.parametrize("design", ["bulk-lane", "bulk-quota"])
def test_a_separate_lane_or_a_quota_keeps_the_counters_within_a_factor_of_quiet(
    reports: dict[str, RunReport], design: str
) -> None:
    report = reports[design]
    quiet, during = verify_p99(report, "quiet"), verify_p99(report, "job")
    assert during <= FACTOR * max(quiet, FLOOR_MS), (design, quiet, during)
    shared = verify_p99(reports["bulk-shared"], "job")
    assert during < shared, (design, during, shared)


def test_the_separate_lane_takes_every_bulk_item_off_the_counters_registry(
    reports: dict[str, RunReport],
) -> None:
    bulk = reports["bulk-lane"].bulk
    assert bulk is not None
    lanes = {lane.lane: lane for lane in bulk.lanes}
    assert lanes["shared"].bulk == 0 and lanes["separate"].bulk == SELLERS
    assert lanes["separate"].interactive == 0 and lanes["shared"].interactive > 0


def test_the_quota_the_broker_applied_shows_as_throttle_in_the_report(
    reports: dict[str, RunReport],
) -> None:
    bulk = reports["bulk-quota"].bulk
    assert bulk is not None
    assert bulk.quotas == {"ministry.tax": {"producer_byte_rate": 98304}}
    throttled = {(t.principal, t.kind): t for t in bulk.throttle}
    tax = throttled[("ministry.tax", "produce")]
    assert tax.peak_ms > 0 and tax.seconds_throttled > 0
    assert all(t.peak_ms == 0 for (who, _), t in throttled.items() if who != "ministry.tax")
    # held back: the job took longer than on the unthrottled shared lane
    quota_s = job_of(reports["bulk-quota"]).completed_s
    shared_s = job_of(reports["bulk-shared"]).completed_s
    assert quota_s is not None and shared_s is not None and quota_s > shared_s
