"""The HTML run report: self-contained, escaped, one row per period, optional sections on demand."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from loadtests.htmlreport import render_html, write_html
from loadtests.svgchart import latency_line, nice_step

HOSTILE = '<script>alert("x")</script>'


class Page(HTMLParser):
    """Every start tag with its attributes, and which table each row sits in."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: dict[str, list[str]] = {}
        self.text: list[str] = []
        self._table = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        if tag == "table":
            self._table = found.get("id", "")
        elif tag == "tr":
            self.rows.setdefault(self._table, []).append(found.get("class", ""))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def by_id(self, element_id: str) -> list[tuple[str, dict[str, str]]]:
        return [t for t in self.tags if t[1].get("id") == element_id]


def second(t: int, phase: str, answered: int = 100) -> dict[str, Any]:
    lat = {"p50": 4.0 + t % 3, "p95": 9.0, "p99": 20.0 + t % 5, "max": 40.0}
    return {"t": t, "phase": phase, "answered": answered, "latency_ms": lat}


def phase(name: str, rate: float = 100.0) -> dict[str, Any]:
    return {
        "name": name, "target_rate_per_s": rate, "duration_s": 5.0, "sent": 500,
        "answered": 500, "timed_out": 0, "dead_lettered": 0, "lost": 0, "incorrect": 0,
        "late_sends": 0, "throughput_tps": 100.0,
        "latency_ms": {"p50": 4.0, "p95": 9.0, "p99": 21.0, "max": 40.0},
        "outcomes": {"MATCH": 480, "MISMATCH": 20}, "flows": {"verify": 500},
    }  # fmt: skip


def make_report(names: tuple[str, ...] = ("2023H1", "2024H1"), **extra: Any) -> dict[str, Any]:
    phases = [phase(n) for n in names]
    totals = {k: v for k, v in phases[0].items() if k not in ("name", "outcomes", "flows")}
    checks = [{"name": "lost", "target": 0, "measured": 0, "passed": True}]
    checks += [{"name": f"{n}.p99_ms", "target": 250, "measured": 21.0, "passed": True}
               for n in names]  # fmt: skip
    report = {
        "run_id": "20250101-000000-demo", "scenario": "demo", "scenario_file": "demo.yaml",
        "topology": "demo", "started_at": "2025-01-01T00:00:00+00:00", "elapsed_s": 10.0,
        "bootstrap": "127.0.0.1:9092", "phases": phases, "totals": totals, "late_answers": 0,
        "slo": {"passed": True, "failed": [], "checks": checks},
        "timeline": [second(i * 5 + t, n) for i, n in enumerate(names) for t in range(5)],
        "assumptions": ["rate is a demo rate"], "warnings": [],
    }  # fmt: skip
    report.update(extra)
    return report


def test_page_loads_nothing_from_outside() -> None:
    html = render_html(make_report(capacity={"steps": [], "knee": None}))
    page = Page(html)
    links = [a[k] for _, a in page.tags for k in ("src", "href") if k in a]
    assert not [u for u in links if "//" in u or u.startswith(("http", "data:"))]
    assert "http://" not in html and "https://" not in html
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "img")]
    assert "url(" not in html and "@import" not in html


def test_every_report_string_is_escaped() -> None:
    report = make_report((HOSTILE, "2024H1"), scenario=HOSTILE, run_id=HOSTILE)
    report["assumptions"] = [HOSTILE]
    report["warnings"] = ['"><img src=x onerror=alert(1)>']
    report["phases"][0]["outcomes"] = {HOSTILE: 1}
    report["slo"] = {"passed": False, "failed": [HOSTILE], "checks": []}
    html = render_html(report)
    page = Page(html)
    assert "<script" not in html
    assert not [t for t, _ in page.tags if t in ("script", "img")]
    assert HOSTILE in "".join(page.text)


def test_periods_table_has_one_row_per_period_and_a_total() -> None:
    page = Page(render_html(make_report(("2022H1", "2023H1", "2024H1"))))
    assert page.rows["periods"].count("period") == 3
    assert page.rows["periods"].count("total") == 1
    assert page.rows["outcomes"].count("mix") == 3


def test_verdict_banner_says_pass_when_every_slo_holds() -> None:
    page = Page(render_html(make_report()))
    assert page.by_id("verdict")[0][1]["class"] == "verdict pass"


def test_verdict_banner_names_the_failed_slos() -> None:
    report = make_report()
    report["slo"]["passed"] = False
    report["slo"]["failed"] = ["2024H1.p99_ms", "timeout_share"]
    html = render_html(report)
    assert Page(html).by_id("verdict")[0][1]["class"] == "verdict fail"
    assert "FAIL · failed SLOs: 2024H1.p99_ms, timeout_share" in html


def test_growth_and_online_share_appear_only_when_the_report_has_them() -> None:
    plain = Page(render_html(make_report()))
    assert not plain.by_id("growth") and not plain.by_id("online-share")
    report = make_report(growth={"target": 0.67, "measured": 0.668, "driver": 0.67})
    report["phases"][1]["online_share"] = {"target": 0.42, "measured": 0.423}
    html = render_html(report)
    page = Page(html)
    assert page.by_id("growth") and page.rows["online-share"] == ["", "share"]
    assert "+67.0%" in html and "+66.8%" in html and "-0.2 pts" in html and "42.3%" in html


def test_capacity_curve_appears_only_when_the_report_has_one() -> None:
    assert not Page(render_html(make_report())).by_id("chart-capacity")
    steps = [
        {"rate": r, "p99_ms": r / 10, "throughput_tps": r, "passed": r <= 2000}
        for r in (3000, 1000, 2000)
    ]
    for report in (make_report(capacity={"steps": steps, "knee": 2000}),
                   make_report(capacity=steps, knee={"rate": 2000})):  # fmt: skip
        page = Page(render_html(report))
        assert page.by_id("chart-capacity") and page.by_id("knee")
        assert page.rows["capacity"] == ["", "pass", "pass", "fail"]


def test_charts_shade_one_band_per_period_with_its_name() -> None:
    page = Page(render_html(make_report(("2023H1", "2024H1", "2025H1"))))
    bands = [a for t, a in page.tags if t == "rect" and "band" in a.get("class", "")]
    assert len(bands) == 6  # three on the throughput chart, three on the latency chart
    assert page.by_id("chart-throughput") and page.by_id("chart-latency")


def test_latency_line_breaks_at_seconds_without_answers_instead_of_dropping_to_zero() -> None:
    timeline = [second(0, "a"), second(1, "a", 0), second(2, "a"), second(3, "a")]
    segments = latency_line(timeline, "p99")
    assert [[x for x, _ in seg] for seg in segments] == [[0.5], [2.5, 3.5]]


def test_axis_steps_are_round_numbers() -> None:
    assert [nice_step(s) for s in (7.0, 480.0, 5300.0, 0.0)] == [2.0, 100.0, 2000.0, 1.0]


def test_write_html_puts_report_html_in_the_run_folder(tmp_path: Path) -> None:
    path = write_html(tmp_path / "run-1", make_report())
    assert path == tmp_path / "run-1" / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
