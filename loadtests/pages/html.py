"""Renders a run report as one self-contained HTML page that opens offline in any browser.

The page is a jinja2 template with autoescaping; the charts are plotly figures drawn by the
plotly.js bundled with the plotly package, inlined, so nothing is fetched when it opens.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from loadtests.pages.chartkit import late_answers
from loadtests.pages.charts import charts
from loadtests.report import RunReport


def num(value: float | int | None) -> str:
    """Counts with separators, rates to 0.1, small shares to 3 digits, absent as a dash."""
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:,.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def pct(value: float | None, sign: str = "") -> str:
    return "—" if value is None else f"{value * 100:{sign}.1f}%"


def gap(measured: float | None, target: float | None) -> str:
    """measured − target in percentage points."""
    if measured is None or target is None:
        return "—"
    return f"{(measured - target) * 100:+.1f} pts"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("loadtests", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=num, pct=pct, gap=gap)
    return env


@cache
def plotly_js() -> Markup:
    """plotly.js as shipped inside the plotly package (it holds no closing script tag)."""
    return Markup(get_plotlyjs())


def render_html(report: RunReport) -> str:
    """The whole page; every report string is escaped by the template engine."""
    found = charts(report)
    drawn = {chart_id: Markup(chart.html()) for chart_id, chart in found.items()}
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            charts=found,
            drawn=drawn,
            plotly_js=plotly_js(),
            late=late_answers(report),
        )
    )


def write_html(run_dir: Path, report: RunReport) -> Path:
    """Writes report.html beside report.json, atomically like the JSON."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(path)
    return path
