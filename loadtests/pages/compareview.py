"""Renders a comparison as one self-contained page, like a run report: jinja2 and plotly."""

from __future__ import annotations

import os
from pathlib import Path

from markupsafe import Markup

from loadtests.pages.chartkit import WORDS, late_answers
from loadtests.pages.comparecharts import compare_charts
from loadtests.pages.html import environment, plotly_js
from loadtests.report import CompareReport

__all__ = ["render_compare", "write_compare_html"]


def knobs(report: CompareReport) -> list[tuple[str, list[str], bool]]:
    """Every design setting as (name, value per design, differs): the knobs side by side."""
    flat = [
        _flatten(r.run.design.settings.model_dump(mode="json")) if r.run.design else {}
        for r in report.results
    ]
    names = sorted({k for f in flat for k in f} - {"name", "description", "question"})
    rows = []
    for name in names:
        values = [str(f.get(name, "—")) for f in flat]
        rows.append((name, values, len(set(values)) > 1))
    return rows


def periods(report: CompareReport) -> list[str]:
    """Every measured period of any design, in the order played: one goodput row each."""
    return list(dict.fromkeys(p.name for r in report.results for p in r.run.phases))


def _flatten(tree: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif value is not None:
            out[prefix + key] = value
    return out


def render_compare(report: CompareReport, here: Path) -> str:
    found = compare_charts(report)
    drawn = {cid: Markup(c.html()) for cid, c in found.items()}
    links = {
        r.design: os.path.relpath(r.run.paths.html_path, here) if r.run.paths else ""
        for r in report.results
    }
    return (
        environment()
        .get_template("compare.html.j2")
        .render(
            report=report,
            charts=found,
            drawn=drawn,
            plotly_js=plotly_js(),
            knobs=knobs(report),
            links=links,
            periods=periods(report),
            words=WORDS,
            late={r.design: late_answers(r.run).total for r in report.results},
        )
    )


def write_compare_html(out: Path, report: CompareReport) -> Path:
    path = out / "compare.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_compare(report, out), encoding="utf-8")
    tmp.replace(path)
    return path
