"""report.html in a real headless Chromium: it opens offline, draws its charts, and they answer
the mouse (hover label, drag to zoom, legend click), while the page fetches nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.pages.html import write_html
from tests.support.browser import Page, open_page, open_report_in_browser
from tests.support.reports import capacity_result, run_report
from tests.unit.test_hops_report import with_hops

SECONDS = 30
RUN_ID = "20250101-000000-growth-2023-2024"
CHARTS = ("chart-over-time", "chart-flow-latency", "chart-outcomes", "chart-capacity")
TICKS = (
    "[...document.querySelectorAll('#chart-over-time .xaxislayer-above text')]"
    ".map(t => t.textContent)"
)
HOVER_TEXT = "document.querySelector('#chart-over-time .hoverlayer').textContent"


def written_report(tmp_path: Path) -> Path:
    report = run_report(seconds=SECONDS, run_id=RUN_ID)
    report.capacity = capacity_result()
    return write_html(tmp_path / "runs" / RUN_ID, report)


def trace_visible(page: Page, name: str) -> object:
    return page.evaluate(
        f"document.getElementById('chart-over-time').data.find(t => t.name === {name!r}).visible"
    )


@pytest.mark.timeout(120)
def test_report_opens_offline_without_errors_and_draws_its_charts(tmp_path: Path) -> None:
    html = written_report(tmp_path)
    screenshot = html.parent / "report.png"
    seen = open_report_in_browser(html, screenshot)
    assert seen.console_errors == []
    assert RUN_ID in seen.title
    assert seen.chart_ids == list(CHARTS)
    # answered/s, p50 and p99: one vertex per second of the two periods, at least
    assert seen.drawn_points["chart-over-time"] >= 3 * 2 * SECONDS
    assert seen.drawn_points["chart-flow-latency"] >= 3 * 4  # p50/p95/p99 × 2 periods × 2 flows
    assert seen.drawn_points["chart-outcomes"] >= 5 * 2  # five verify outcomes × 2 periods
    assert seen.drawn_points["chart-capacity"] >= 7
    assert all(width > 600 for width in seen.chart_widths.values()), seen.chart_widths
    assert seen.requests == [html.resolve().as_uri()]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 50_000


@pytest.mark.timeout(120)
def test_charts_answer_hover_drag_to_zoom_and_legend_clicks_without_fetching(
    tmp_path: Path,
) -> None:
    html = written_report(tmp_path)
    with open_page(html) as page:
        plot = page.box("#chart-over-time .nsewdrag")  # the throughput panel's plot area
        page.hover(*plot.at(0.5, 0.5))
        label = page.wait_for(HOVER_TEXT)
        assert "answered" in label and "target" in label, label

        page.evaluate(
            "document.getElementById('chart-over-time').on('plotly_relayout', "
            "e => { window.relayout = e; })"
        )
        ticks_before = page.evaluate(TICKS)
        assert len(ticks_before) >= 4, ticks_before
        page.drag(plot.at(0.3, 0.5), plot.at(0.6, 0.5))
        event = page.wait_for("window.relayout")
        low, high = event["xaxis.range[0]"], event["xaxis.range[1]"]
        assert 0 < low < high < 2 * SECONDS and high - low < SECONDS, event
        axis = page.evaluate("document.getElementById('chart-over-time').layout.xaxis.range")
        assert axis == pytest.approx([low, high])
        assert page.wait_for(f"JSON.stringify({TICKS}) !== {json.dumps(json.dumps(ticks_before))}")

        assert trace_visible(page, "p99 ms") in (None, True)  # not set: shown
        item = page.evaluate(
            "[...document.querySelectorAll('#chart-over-time .legend .traces')]"
            ".findIndex(t => t.textContent === 'p99 ms')"
        )
        legend = page.box(f"#chart-over-time .legend .traces:nth-of-type({item + 1})")
        page.click(*legend.at(0.5, 0.5))
        page.wait_for(  # plotly waits out a possible double-click first
            "document.getElementById('chart-over-time').data"
            ".find(t => t.name === 'p99 ms').visible === 'legendonly'"
        )
        page.screenshot(html.parent / "report-after-zoom.png")
        assert page.console_errors() == []
        assert page.requests() == [html.resolve().as_uri()]


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


@pytest.mark.timeout(120)
def test_the_hop_charts_answer_hover_and_zoom_without_fetching(tmp_path: Path) -> None:
    report = with_hops()
    html = write_html(tmp_path / "runs" / report.run_id, report)
    with open_page(html) as page:
        heat = page.box("#chart-link-heatmap .nsewdrag")
        page.hover(*heat.at(0.5, 0.25))  # the top row: ministry.vss, slow replies
        label = page.wait_for(
            "document.querySelector('#chart-link-heatmap .hoverlayer').textContent"
        )
        assert "ministry.vss" in label and "p99" in label, label

        page.evaluate(
            "document.getElementById('chart-hops').on('plotly_relayout', "
            "e => { window.hopzoom = e; })"
        )
        bars = page.box("#chart-hops .nsewdrag")
        page.drag(bars.at(0.05, 0.5), bars.at(0.4, 0.5))
        event = page.wait_for("window.hopzoom")
        low, high = event["xaxis.range[0]"], event["xaxis.range[1]"]
        assert 0 <= low < high, event
        page.hover(*bars.at(0.02, 0.15))
        hover = page.wait_for("document.querySelector('#chart-hops .hoverlayer').textContent")
        assert "ms" in hover, hover
        assert page.console_errors() == []
        fetched = [u for u in page.requests() if not u.startswith("data:")]  # drawn in memory
        assert fetched == [html.resolve().as_uri()]
