"""report.json is the typed model written out: DESIGN.md's fields, read back to an equal model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from loadtests.report import SCHEMA_VERSION, ReportError, RunReport, load_report
from loadtests.report.files import print_summary, write_report
from tests.support.reports import capacity_result, run_report

DESIGN_PHASE_KEYS = {
    "sent",
    "answered",
    "timed_out",
    "dead_lettered",
    "lost",
    "incorrect",
    "throughput_tps",
    "latency_ms",
}


def written(tmp_path: Path, report: RunReport) -> dict[str, Any]:
    path = write_report(tmp_path / "runs" / report.run_id, report)
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return raw


def test_a_written_report_reads_back_equal_to_the_one_written(tmp_path: Path) -> None:
    report = run_report()
    report.capacity = capacity_result()
    path = write_report(tmp_path / "runs" / report.run_id, report)
    back = load_report(path)
    assert back == report
    assert back.phases[1].online_share is not None
    assert back.phases[1].online_share.measured == pytest.approx(0.42)
    assert back.capacity is not None and back.capacity.knee == 2500
    assert back.paths is not None and back.paths.json_path == str(path)
    assert (tmp_path / "runs" / "latest" / "report.json").read_bytes() == path.read_bytes()


def test_report_json_keeps_the_fields_design_md_requires(tmp_path: Path) -> None:
    raw = written(tmp_path, run_report())
    assert raw["schema_version"] == SCHEMA_VERSION
    for phase in raw["phases"]:
        assert set(phase) >= DESIGN_PHASE_KEYS
        assert set(phase["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert {"target", "measured", "driver"} <= set(raw["growth"])
    assert {"passed", "failed", "checks"} == set(raw["slo"])
    run_dir = tmp_path / "runs" / raw["run_id"]
    assert raw["paths"] == {
        "json": str(run_dir / "report.json"),
        "html": str(run_dir / "report.html"),
    }


def test_parts_a_run_does_not_have_are_left_out_but_unmeasured_figures_stay_null(
    tmp_path: Path,
) -> None:
    report = run_report(periods=(("only", 100.0, None),))
    assert report.growth is None
    report.phases[0].measured_rate_per_s = None
    raw = written(tmp_path, report)
    assert not {"growth", "warmup", "capacity"} & set(raw)
    phase = raw["phases"][0]
    assert "online_share" not in phase and "measured_rate_per_s" not in phase
    lost = raw["slo"]["checks"][0]
    assert set(lost) == {"name", "target", "measured", "passed"}
    grown = run_report()
    assert grown.growth is not None
    grown.growth.measured = None
    assert json.loads(grown.model_dump_json())["growth"]["measured"] is None


def test_a_report_missing_a_required_field_is_refused_naming_the_field(tmp_path: Path) -> None:
    raw = json.loads(run_report().model_dump_json())
    del raw["phases"][1]["sent"]
    path = tmp_path / "report.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ReportError, match=r"report\.json: phases\[1\]\.sent: Field required"):
        load_report(path)


def test_a_misspelt_field_is_refused_rather_than_dropped(tmp_path: Path) -> None:
    raw = json.loads(run_report().model_dump_json())
    raw["totals"]["timedout"] = 0
    path = tmp_path / "report.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ReportError, match=r"totals\.timedout: Extra inputs are not permitted"):
        load_report(path)


def test_a_report_from_a_newer_schema_is_refused_and_one_from_before_versions_is_read(
    tmp_path: Path,
) -> None:
    raw = json.loads(run_report().model_dump_json())
    raw["schema_version"] = SCHEMA_VERSION + 1
    path = tmp_path / "report.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ReportError, match="newer than this ndxsim reads"):
        load_report(path)
    del raw["schema_version"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert load_report(path).schema_version == SCHEMA_VERSION


def test_an_unreadable_report_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"nothing\.json: cannot read"):
        load_report(tmp_path / "nothing.json")


def test_summary_prints_every_period_the_growth_and_the_verdict(tmp_path: Path) -> None:
    report = run_report()
    write_report(tmp_path / report.run_id, report)
    console = Console(record=True, width=140)
    print_summary(report, console)
    text = console.export_text()
    assert "2023H1" in text and "2024H1" in text and "total" in text
    assert "growth 2023H1 → 2024H1: target +67.0%, measured +66.80%" in text
    assert "online dossiers 2024H1: target 42%, measured 42.0%" in text
    assert "SLOs hold" in text and "report.json" in text
