"""report.html in a real headless Chromium: it loads cleanly offline and draws its charts."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from loadtests.htmlreport import write_html
from tests.support.browser import open_report_in_browser

PERIODS = (("2023H1", 300.0, 0.17), ("2024H1", 501.0, 0.42))
SECONDS = 30
RUN_ID = "20250101-000000-growth-2023-2024"
CHARTS = ("chart-throughput", "chart-latency", "chart-capacity")


def lat(p50: float, spread: float) -> dict[str, float]:
    return {"p50": p50, "p95": p50 * spread / 2, "p99": p50 * spread, "max": p50 * spread * 2}


def realistic_report() -> dict[str, Any]:
    """Two periods of 30 s at +67%, with growth, online share and a capacity curve."""
    rng = random.Random(6)
    timeline: list[dict[str, Any]] = []
    phases: list[dict[str, Any]] = []
    for name, rate, share in PERIODS:
        answered = 0
        for _ in range(SECONDS):
            n = max(0, round(rng.gauss(rate, rate * 0.04)))
            answered += n
            timeline.append({"t": len(timeline), "phase": name, "answered": n,
                             "latency_ms": lat(rng.uniform(3, 6), rng.uniform(3, 8))})  # fmt: skip
        phases.append({
            "name": name, "target_rate_per_s": rate, "duration_s": float(SECONDS),
            "sent": answered, "answered": answered, "timed_out": 0, "dead_lettered": 0,
            "lost": 0, "incorrect": 0, "late_sends": 3, "throughput_tps": answered / SECONDS,
            "latency_ms": lat(4.5, 6), "outcomes": {"MATCH": answered - 40, "NOT_FOUND": 40},
            "flows": {"verify": answered}, "online_share": {"target": share, "measured": share},
        })  # fmt: skip
    sent = sum(int(p["sent"]) for p in phases)
    checks = [{"name": f"{n}.p99_ms", "target": 250, "measured": 27.0, "passed": True}
              for n, _, _ in PERIODS]  # fmt: skip
    steps = [{"rate": r, "p99_ms": 5 + (r / 1000) ** 4 * 40, "throughput_tps": min(r, 2600.0),
              "passed": r <= 2500} for r in range(500, 3501, 500)]  # fmt: skip
    return {
        "run_id": RUN_ID, "scenario": "growth-2023-2024",
        "scenario_file": "loadtests/scenarios/growth-2023-2024.yaml", "topology": "vn-2024",
        "started_at": "2025-01-01T00:00:00+00:00", "elapsed_s": 60.4,
        "bootstrap": "127.0.0.1:9092", "phases": phases, "late_answers": 0,
        "totals": {"sent": sent, "answered": sent, "timed_out": 0, "dead_lettered": 0,
                   "lost": 0, "incorrect": 0, "late_sends": 6, "throughput_tps": sent / 60,
                   "latency_ms": lat(4.5, 6)},
        "slo": {"passed": True, "failed": [], "checks": checks}, "timeline": timeline,
        "growth": {"target": 0.67, "measured": 0.668, "driver": 0.67},
        "capacity": {"steps": steps, "knee": 2500},
        "assumptions": ["scale 1:1000 of the national volume"], "warnings": [],
    }  # fmt: skip


@pytest.mark.timeout(120)
def test_report_opens_offline_without_errors_and_draws_its_charts(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / RUN_ID
    html = write_html(run_dir, realistic_report())
    screenshot = run_dir / "report.png"
    seen = open_report_in_browser(html, screenshot)
    assert seen.console_errors == []
    assert RUN_ID in seen.title
    assert [c for c in CHARTS if c in seen.chart_ids] == list(CHARTS)
    assert seen.drawn_points["chart-throughput"] >= 2 * SECONDS
    assert seen.drawn_points["chart-latency"] >= 2 * 2 * SECONDS
    assert seen.drawn_points["chart-capacity"] >= 7
    assert all(width > 300 for width in seen.chart_widths.values())
    assert seen.requests == [html.resolve().as_uri()]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000


@pytest.mark.timeout(120)
def test_browser_check_reports_script_errors_and_outside_requests(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><title>broken</title><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('seen by the check'); throw new Error('boom')</script>",
        encoding="utf-8",
    )
    seen = open_report_in_browser(page, tmp_path / "broken.png")
    errors = "\n".join(seen.console_errors)
    assert "seen by the check" in errors and "boom" in errors
    assert "http://127.0.0.1:9/x.png" in seen.requests
    assert seen.chart_ids == []
