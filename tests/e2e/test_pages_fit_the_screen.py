"""Every page reads on a real screen: a run report, a capacity search's report and a comparison
of the baseline with an overloaded design (its failed SLOs a long list), each opened in headless
Chromium at 1366x768 and 1920x1080. Nothing overflows the document sideways, every design's
column is in view, the charts follow the window, each period's goodput in a table is what its
chart draws for that period, the page logs no error and fetches nothing. A screenshot of each
page at each size is kept under .cache/screenshots/ (git-ignored)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from loadtests.pages.compare import write_compare_html
from loadtests.pages.html import write_html
from loadtests.report import CompareReport, RunReport
from tests.support.browser import SCREENS, Cell, Fit, Page, open_page
from tests.support.pagegoodput import (
    chart_goodput,
    chart_late,
    compare_table,
    periods_table,
    platform_late,
)
from tests.support.reports import capacity_result, compare_report, run_report

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / ".cache" / "screenshots"
DESIGN_TABLES = ("designs", "settings")
ROUNDING = 0.06  # the tables give to 0.1 a rate the report rounds to 0.01


@dataclass(frozen=True)
class Written:
    kind: str
    html: Path
    report: RunReport | CompareReport


def pages(tmp_path: Path) -> list[Written]:
    """The three kinds of page, written as `ndxsim run`, `capacity` and `compare` write them."""
    run = run_report(seconds=30, run_id="20250101-000000-growth-2023-2024")
    searched = run_report(seconds=20, run_id="20250101-000200-demo-capacity")
    searched.capacity = capacity_result()
    compared = compare_report()
    (tmp_path / "compare").mkdir()
    return [
        Written("report", write_html(tmp_path / run.run_id, run), run),
        Written("capacity", write_html(tmp_path / searched.run_id, searched), searched),
        Written("compare", write_compare_html(tmp_path / "compare", compared), compared),
    ]


def fits(fit: Fit) -> None:
    assert not fit.overflows, f"the document is {fit.document} px wide in {fit.viewport} px"
    firsts: dict[str, Cell] = {}
    for cell in fit.cells:
        firsts.setdefault(cell.table, cell)
    hidden = [c for c in firsts.values() if not c.in_view]
    assert hidden == [], f"first columns out of view: {hidden}"
    assert fit.charts, "no chart drawn"
    for chart, width in fit.charts.items():
        assert 0.5 * fit.viewport < width <= fit.viewport, (chart, width, fit.viewport)


def goodput_agrees(page: Page, written: Written) -> None:
    """Each period's answered/s in the table is the chart's mean goodput for that period."""
    if isinstance(written.report, CompareReport):
        by_design = compare_table(page)
        for r in written.report.results:
            drawn = chart_goodput(page, "compare-throughput", r.run.phases, f"{r.design}: ")
            for period, (segment, line) in drawn.items():
                shown = by_design[(r.design, period)]
                assert shown == pytest.approx(segment, abs=ROUNDING), (r.design, period)
                assert line == pytest.approx(segment, rel=1e-9), (r.design, period)
        return
    table = periods_table(page)
    drawn = chart_goodput(page, "chart-over-time", written.report.phases)
    assert set(table) == set(drawn) == {p.name for p in written.report.phases}
    for period, (segment, line) in drawn.items():
        assert table[period] == pytest.approx(segment, abs=ROUNDING), period
        assert line == pytest.approx(segment, rel=1e-9), period
    assert platform_late(page) == chart_late(page, "chart-over-time", written.report.phases)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_page_fits_the_screen_and_its_tables_agree_with_its_charts(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    for written in pages(tmp_path):
        with open_page(written.html, size) as page:
            fit = page.fit()
            assert fit.viewport <= size[0]
            fits(fit)
            if written.kind == "compare":  # every design's column, in each table of designs
                for table in DESIGN_TABLES:
                    heads = [c.text for c in fit.cells if c.table == table]
                    assert {"baseline", "registry-overloaded"} <= set(heads), heads
                    assert fit.out_of_view(table) == [], fit.out_of_view(table)
            else:
                assert fit.out_of_view("periods") == []
            goodput_agrees(page, written)
            shot = page.screenshot(SHOTS / f"{written.kind}-{size[0]}x{size[1]}.png")
            print(f"screenshot: {shot}")
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert page.console_errors() == [], written.kind
            fetched = [u for u in page.requests() if not u.startswith("data:")]
            assert fetched == [written.html.resolve().as_uri()], written.kind


@pytest.mark.timeout(120)
def test_the_charts_follow_the_window_when_it_is_resized(tmp_path: Path) -> None:
    written = pages(tmp_path)[2]
    wide, narrow = SCREENS[1], SCREENS[0]
    with open_page(written.html, wide) as page:
        before = page.fit().charts
        page.resize(*narrow)
        page.wait_for(  # plotly redraws a moment after the window's resize event
            "[...document.querySelectorAll('.main-svg')].every(s => "
            "s.getBoundingClientRect().width <= document.documentElement.clientWidth)"
        )
        after = page.fit()
        fits(after)
        assert all(after.charts[c] < before[c] for c in before), (before, after.charts)
        assert page.console_errors() == []


@pytest.mark.timeout(120)
def test_a_long_list_of_failed_slos_folds_and_opens(tmp_path: Path) -> None:
    written = pages(tmp_path)[2]
    with open_page(written.html, SCREENS[0]) as page:
        summary = page.box("#designs td.slos details summary")
        assert summary.height < 60, summary  # two lines at most while folded
        page.click(*summary.at(0.05, 0.5))
        page.wait_for("document.querySelector('#designs td.slos details').open")
        shown = page.evaluate("document.querySelector('#designs td.slos details').textContent")
        assert "timeout_share" in shown and "late_sends" in shown
        assert not page.fit().overflows
