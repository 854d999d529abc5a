"""The HTML run report: self-contained, escaped, one row per period, optional sections on demand."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from loadtests.pages.charts import charts, over_time
from loadtests.pages.html import render_html, write_html
from loadtests.report import FaultRecord, RunReport, SloCheck
from tests.support.reports import capacity_result, run_report

HOSTILE = '<script>alert("x")</script>'


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and which table each body row sits in."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: dict[str, list[str]] = {}
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._table, self._in = "", ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        self._in = tag
        if tag == "table":
            self._table = found.get("id", "")
        elif tag == "tbody":
            self.rows.setdefault(self._table, [])
        elif tag == "tr" and self._table in self.rows:
            self.rows[self._table].append(found.get("class", ""))

    def handle_endtag(self, tag: str) -> None:
        self._in = ""

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in == "script" else self.text).append(data)

    def by_id(self, element_id: str) -> list[tuple[str, dict[str, str]]]:
        return [t for t in self.tags if t[1].get("id") == element_id]


def page(report: RunReport) -> Page:
    return Page(render_html(report))


def test_page_loads_nothing_from_outside() -> None:
    report = run_report()
    report.capacity = capacity_result()
    found = page(report)
    links = [a.get("src", a.get("href", "")) for _, a in found.tags if {"src", "href"} & set(a)]
    assert links and all(link.startswith("#") for link in links), links
    assert not [t for t, _ in found.tags if t in ("link", "iframe", "img", "object", "embed")]
    assert [t for t, _ in found.tags].count("script") == 2 + len(charts(report))
    assert all(found.scripts), "every script is inline"
    assert "@import" not in "".join(found.text) and "url(" not in "".join(found.text)


def test_every_report_string_is_escaped_in_the_page_and_in_the_charts() -> None:
    report = run_report(periods=((HOSTILE, 100.0, 0.3), ("2024H1", 200.0, 0.4)))
    report.scenario = report.run_id = HOSTILE
    report.assumptions = [HOSTILE]
    report.warnings = ['"><img src=x onerror=alert(1)>']
    report.phases[0].outcomes = {HOSTILE: 1}
    report.faults = [FaultRecord(action=HOSTILE, period=HOSTILE, at_s=1, recovered_s=1)]
    report.slo.passed, report.slo.failed = False, [HOSTILE]
    html = render_html(report)
    found = Page(html)
    assert "<script>alert" not in html and "<img" not in html
    assert not [t for t, a in found.tags if t == "script" and a]
    assert HOSTILE in "".join(found.text)
    assert "&lt;script&gt;alert" in "".join(found.scripts)  # charts show it as text


def test_periods_table_has_one_row_per_period_a_warm_up_and_a_total() -> None:
    report = run_report(
        periods=(("2022H1", 100.0, None), ("2023H1", 150.0, None), ("2024H1", 250.0, None))
    )
    report.warmup = report.phases[0].model_copy(update={"name": "warm-up"})
    found = page(report)
    assert found.rows["periods"] == ["warmup", "period", "period", "period", "total"]
    assert found.rows["outcomes"] == ["mix"] * 3
    assert found.rows["flow-latency"] == ["flow"] * 6


def test_verdict_banner_says_pass_when_every_slo_holds() -> None:
    assert page(run_report()).by_id("verdict")[0][1]["class"] == "verdict pass"


def test_verdict_banner_names_the_failed_slos() -> None:
    report = run_report()
    report.slo.passed, report.slo.failed = False, ["2024H1.verify.p99_ms", "timeout_share"]
    html = render_html(report)
    assert Page(html).by_id("verdict")[0][1]["class"] == "verdict fail"
    assert "FAIL · failed SLOs: 2024H1.verify.p99_ms, timeout_share" in html


def test_growth_and_online_share_appear_only_when_the_report_has_them() -> None:
    plain = page(run_report(periods=(("only", 100.0, None),)))
    assert not plain.by_id("growth") and not plain.by_id("online-share")
    report = run_report()
    html = render_html(report)
    found = Page(html)
    assert found.rows["growth"] == ["growth"] and found.rows["online-share"] == ["share"] * 2
    assert "+67.0%" in html and "+66.8%" in html and "-0.2 pts" in html and "42.0%" in html


def test_capacity_curve_appears_only_when_the_report_has_one() -> None:
    assert not page(run_report()).by_id("chart-capacity")
    report = run_report()
    report.capacity = capacity_result(knee=2000)
    found = page(report)
    assert found.by_id("chart-capacity") and found.by_id("knee")
    assert found.rows["capacity"] == ["pass"] * 4 + ["fail"] * 3


def test_faults_table_says_what_each_fault_did() -> None:
    found = page(run_report())
    assert found.rows["faults"] == ["fault"]
    assert "instance registry-2" in "".join(found.text)


def test_time_chart_shades_and_names_one_band_per_period_and_marks_faults() -> None:
    report = run_report(
        periods=(("2023H1", 100.0, None), ("2024H1", 167.0, None), ("2025H1", 200.0, None)),
        seconds=10,
    )
    layout = over_time(report).figure.layout
    bands = [s for s in layout.shapes if s.type == "rect"]
    assert [(b.x0, b.x1) for b in bands] == [(0, 10), (10, 20), (20, 30)]
    names = [a.text for a in layout.annotations]
    assert names == ["<b>2023H1</b>", "<b>2024H1</b>", "<b>2025H1</b>", "kill_registry"]
    fault = [s for s in layout.shapes if s.type == "line"]
    assert [f.x0 for f in fault] == [30]  # 2025H1 starts at second 20, the fault 10 s in


def test_latency_lines_break_at_seconds_without_answers_instead_of_dropping_to_zero() -> None:
    report = run_report(periods=(("p", 100.0, None),), seconds=4)
    report.timeline[1].answered = 0
    p99 = next(t for t in over_time(report).figure.data if t.name == "p99 ms")
    assert p99.y[1] is None and None not in (p99.y[0], p99.y[2], p99.y[3])
    assert p99.connectgaps is False


def test_p99_slo_line_follows_each_period_and_hides_when_far_above_the_latency() -> None:
    report = run_report(periods=(("a", 100.0, None), ("b", 100.0, None)), seconds=5)
    tight = SloCheck(
        name="b.verify.p99_ms",
        target=40,
        measured=1,
        passed=True,
        period="b",
        flow="verify",
        percentile="p99",
    )
    report.slo.checks.append(tight)
    slo = next(t for t in over_time(report).figure.data if t.name == "p99 SLO")
    assert list(slo.y) == [250, 250, None, 40, 40, None]
    assert slo.visible is True
    report.slo.checks = [c for c in report.slo.checks if c.target > 100]
    hidden = next(t for t in over_time(report).figure.data if t.name == "p99 SLO")
    assert hidden.visible == "legendonly"


def test_write_html_puts_report_html_in_the_run_folder(tmp_path: Path) -> None:
    path = write_html(tmp_path / "run-1", run_report())
    assert path == tmp_path / "run-1" / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
