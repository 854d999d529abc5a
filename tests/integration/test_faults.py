"""Each fault directive under load ends with every request accounted for and every answer right."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from loadtests.reportmodel import RunReport
from loadtests.run import execute
from services.shared.codec import Catalogue, Codec
from services.shared.settings import load_settings
from services.shared.topics import reply_topic
from tests.support.topics import read_topic

REPO = Path(__file__).resolve().parents[2]
BASE = f"""
name: fault
topology: {REPO}/loadtests/topologies/demo.yaml
agencies: [province.001, province.079, ministry.vss, ministry.tax, ministry.justice]
timeout_s: 2
retries: 6
retry_budget: 5
registry_instances: {{instances}}
periods:
  - {{{{name: load, duration_s: 24, rate_per_s: 80, online_share: 0.4}}}}
mix: {{{{verify: 0.7, lookup: 0.15, dossier: 0.1, death: 0.05}}}}
errors: {{{{wrong_name: 0.05, unknown_id: 0.03, invalid_id: 0.02}}}}
faults:
{{faults}}
"""


async def play(tmp_path: Path, faults: str, bootstrap: str | None, instances: int = 1
               ) -> RunReport:  # fmt: skip
    scenario = tmp_path / "fault.yaml"
    scenario.write_text(BASE.format(instances=instances, faults=faults), encoding="utf-8")
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=bootstrap)
    report = await execute(scenario, tmp_path / "runs", settings, Console(quiet=True), live=False)
    phase = report.phases[0]
    assert phase.sent > 1500
    assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0), phase
    assert len(report.faults) == faults.count("action:")
    return report


async def test_killing_one_of_two_registries_mid_run_loses_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    report = await play(tmp_path, "  - {action: kill_registry, at_s: 6, instance: 2, down_s: 2}",
                        kafka_bootstrap, instances=2)  # fmt: skip
    assert report.faults[0].instance == "registry-2"
    assert report.phases[0].retries > 0  # requests on the dead member's partitions waited


# Under load each kind of warning shows once per 30 s (services.shared.lograte): a registry or
# monitor writes a few dozen lines over a broker restart, where it used to write thousands.
OUTAGE_LOG_LINES = 60


async def test_restarting_the_broker_mid_run_loses_nothing_and_readiness_follows_it(
    tmp_path: Path,
) -> None:
    report = await play(tmp_path, "  - {action: restart_broker, at_s: 6, down_s: 4}", None)
    assert report.phases[0].retries > 0
    outage = report.faults[0].outage
    assert outage is not None
    for name in ("registry-1", "monitor"):
        assert outage.not_ready_after_s[name] is not None, outage  # 0 while it was away
        assert outage.ready_again_s[name] is not None, outage  # 1 again once it is back
        assert outage.log_lines[name] <= OUTAGE_LOG_LINES, outage


async def test_a_slow_ministry_catches_up_and_its_late_answers_are_counted_not_applied(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    report = await play(tmp_path, "  - {action: slow_agency, agency: ministry.vss, at_s: 5, "
                        "for_s: 6}", kafka_bootstrap)  # fmt: skip
    phase = report.phases[0]
    assert phase.retries > 0
    assert phase.late_answers > 0  # the first copies arrived once it read again
    assert phase.change_deliveries > 0


async def test_a_poison_flood_is_dead_lettered_while_traffic_is_answered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    report = await play(tmp_path, "  - {action: poison, at_s: 5, count: 500}", kafka_bootstrap)
    assert report.phases[0].dead_letters_measured == 500


async def test_rolling_the_registry_to_v1_answers_and_back_to_v2_loses_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    faults = ("  - {action: schema_roll, at_s: 4, writer_version: 1}\n"
              "  - {action: schema_roll, at_s: 14, writer_version: 2}")  # fmt: skip
    report = await play(tmp_path, faults, kafka_bootstrap, instances=2)
    assert [f.writer_version for f in report.faults] == [1, 2]
    codec = Codec(Catalogue())
    replies = await read_topic(kafka_bootstrap, reply_topic("province.001"))
    versions = {codec.writer_of(r.value).version for r in replies}
    assert versions >= {1, 2}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
