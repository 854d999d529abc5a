"""`ndxsim run` end to end: verdict exit codes, a misspelt key, and the report in a browser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.report import load_report
from tests.support.browser import open_report_in_browser

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "loadtests" / "scenarios" / "demo.yaml"
DEMO_PERIOD_S = 15  # the demo's two periods, played at their rates for 15 s each instead of 30


def ndxsim(bootstrap: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI on the given cluster, or (None) on the one its design starts, as `make demo`."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    if bootstrap is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    return subprocess.run(
        [sys.executable, "-m", "loadtests", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def short_demo(into: Path) -> Path:
    """The demo scenario as shipped but for the length of its periods."""
    text = DEMO.read_text(encoding="utf-8")
    assert text.count("    duration_s: 30\n") == 2 and "topology: ../topologies/" in text
    text = text.replace("    duration_s: 30\n", f"    duration_s: {DEMO_PERIOD_S}\n")
    text = text.replace("topology: ../topologies/", f"topology: {REPO}/loadtests/topologies/")
    path = into / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_reproduces_growth_and_online_share_and_its_report_opens_in_chromium(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"  # on its own secured broker, as `make demo` plays it
    done = ndxsim(None, "run", str(short_demo(tmp_path)), "--runs-dir", str(runs), "--no-live")
    assert done.returncode == 0, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert errors == [], "a clean run logs no error, at its end either (every client closed)"
    report = load_report(runs / "latest" / "report.json")
    assert report.growth is not None
    assert report.growth.target == 0.67
    assert report.growth.measured == pytest.approx(0.67, abs=0.02)
    shares = [p.online_share for p in report.phases]
    assert [s.target if s else None for s in shares] == [0.17, 0.42]
    for share in shares:
        assert share is not None and share.measured == pytest.approx(share.target, abs=0.01)
    for phase in report.phases:
        assert set(phase.outcomes) >= {"MATCH", "MISMATCH", "NOT_FOUND", "DECEASED", "REJECTED"}
        assert (phase.lost, phase.incorrect) == (0, 0)
    secrets = sorted(p.name for p in (runs / "latest" / "secrets").iterdir())
    assert "registry.credentials.yaml" in secrets  # the run was secured: one file per process
    run_dir = (runs / "latest").resolve()
    check = open_report_in_browser(run_dir / "report.html", run_dir / "report.png")
    assert check.console_errors == []
    assert {"chart-over-time", "chart-flow-latency", "chart-outcomes"} <= set(check.chart_ids)
    assert check.drawn_points["chart-over-time"] > 3 * sum(p.duration_s for p in report.phases)
    fetched = [u for u in check.requests if not u.startswith("data:")]  # drawn in memory
    assert fetched == [(run_dir / "report.html").as_uri()]
    assert (run_dir / "report.png").stat().st_size > 10_000


def test_an_slo_that_cannot_hold_exits_1_and_names_the_slo(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    scenario = tmp_path / "impossible.yaml"
    scenario.write_text(
        f"name: impossible\ntopology: {REPO}/loadtests/topologies/demo.yaml\n"
        "agencies: [province.001]\n"
        "periods: [{name: short, duration_s: 3, rate_per_s: 50}]\n"
        "slo: {p99_ms: 0.001}\n",
        encoding="utf-8",
    )
    done = ndxsim(
        kafka_bootstrap, "run", str(scenario), "--runs-dir", str(tmp_path / "runs"), "--no-live"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "SLO failed" in done.stdout
    assert "short.verify.p99_ms" in done.stdout


def test_a_misspelt_key_exits_2_naming_the_file_and_the_key(tmp_path: Path) -> None:
    scenario = tmp_path / "typo.yaml"
    scenario.write_text(
        DEMO.read_text(encoding="utf-8").replace("time_compression:", "time_compresion:")
    )
    done = ndxsim("127.0.0.1:1", "run", str(scenario), "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert str(scenario) in done.stderr
    assert "time_compresion" in done.stderr
    assert "Traceback" not in done.stderr
