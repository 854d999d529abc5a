"""Goodput as a page in Chromium shows it: each period's answered/s in its table, and what its
chart draws for that period (the per-second goodput line and the period's mean segment)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from loadtests.pages.chartkit import GOODPUT, LATE, RETRIES
from loadtests.report import PhaseReport
from tests.support.browser import Page

__all__ = [
    "GOODPUT",
    "LATE",
    "RETRIES",
    "Drawn",
    "chart_goodput",
    "chart_late",
    "compare_table",
    "drawn",
    "periods_table",
    "platform_late",
]

SERIES = """((id, name) => {
  const gd = document.getElementById(id);
  const trace = gd && gd.data.find(t => t.name === name);
  if (!trace) return null;
  const list = a => Array.from(a || [], v => (v === undefined ? null : v));
  return {x: list(trace.x), y: list(trace.y), names: list(trace.customdata)};
})"""
# Body rows of a table as the text of their cells, with the header's texts and row classes.
TABLE = """((id) => {
  const t = document.getElementById(id);
  if (!t) return null;
  return {
    heads: [...t.tHead.rows[0].cells].map(c => c.textContent.trim()),
    rows: [...t.tBodies[0].rows].map(r => ({
      cls: r.className, period: r.dataset.period || null,
      cells: [...r.cells].map(c => c.textContent.trim()),
    })),
  };
})"""


def number(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass(frozen=True)
class Drawn:
    """One line of a chart as plotly holds it in the page (the data it draws)."""

    x: list[float | None]
    y: list[float | None]
    names: list[str | None]  # a period mean's segments carry their period's name

    def total(self, start: float, end: float) -> float:
        """The line's values added up over the seconds [start, end)."""
        return sum(
            y
            for x, y in zip(self.x, self.y, strict=True)
            if x is not None and y is not None
            if start <= x < end
        )

    def segments(self) -> dict[str, tuple[float, float, float]]:
        """A period-mean line's segments by period: (start, end, value)."""
        out: dict[str, tuple[float, float, float]] = {}
        points = list(zip(self.x, self.y, self.names, strict=True))
        for (x0, y0, n0), (x1, _y1, n1) in pairwise(points):
            if n0 is not None and n0 == n1 and x0 is not None and x1 is not None:
                assert y0 is not None
                out[n0] = (x0, x1, y0)
        return out


def drawn(page: Page, chart: str, name: str) -> Drawn:
    found = page.evaluate(f"{SERIES}({chart!r}, {name!r})")
    assert found is not None, f"{chart} draws no line named {name!r}"
    names = found["names"] or [None] * len(found["x"])
    return Drawn(found["x"], found["y"], names)


def periods_table(page: Page) -> dict[str, float]:
    """The run report's answered/s (goodput) of each measured period, as its table shows it."""
    table = page.evaluate(f"{TABLE}('periods')")
    col = table["heads"].index(GOODPUT)
    return {r["cells"][0]: number(r["cells"][col]) for r in table["rows"] if r["cls"] == "period"}


def platform_late(page: Page) -> dict[str, float]:
    """The run report's late answers of each measured period, as its platform table shows it."""
    table = page.evaluate(f"{TABLE}('platform')")
    col = table["heads"].index("late answers")
    return {r["cells"][0]: number(r["cells"][col]) for r in table["rows"]}


def chart_late(page: Page, chart: str, phases: list[PhaseReport]) -> dict[str, float]:
    """The late answers the chart draws over each period's seconds."""
    late = drawn(page, chart, LATE)
    means = drawn(page, chart, f"{GOODPUT}, period mean").segments()
    return {p.name: late.total(*means[p.name][:2]) for p in phases}


def compare_table(page: Page) -> dict[tuple[str, str], float]:
    """The comparison's answered/s (goodput) by (design, period), as its table shows it."""
    table = page.evaluate(f"{TABLE}('designs')")
    designs = table["heads"][1:]
    out = {}
    for r in table["rows"]:
        if r["period"] is not None and r["cls"] == "goodput":
            for design, cell in zip(designs, r["cells"][1:], strict=True):
                if cell != "—":
                    out[(design, r["period"])] = number(cell)
    return out


def chart_goodput(
    page: Page, chart: str, phases: list[PhaseReport], prefix: str = ""
) -> dict[str, tuple[float, float]]:
    """For each period: the chart's period-mean segment, and its per-second goodput added up
    over the segment's seconds over the period's duration (the mean of what the line draws)."""
    line = drawn(page, chart, f"{prefix}{GOODPUT}")
    means = drawn(page, chart, f"{prefix}{GOODPUT}, period mean").segments()
    out = {}
    for p in phases:
        start, end, mean = means[p.name]
        out[p.name] = (mean, line.total(start, end) / p.duration_s)
    return out
