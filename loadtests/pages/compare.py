"""A comparison as people read it: in plain words, as charts on shared axes, as one page.

Which design holds the scenario and by how much; every design drawn on the same axes, so the
difference is what shows; the page self-contained like a run report (jinja2 and plotly).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import plotly.graph_objects as go
from markupsafe import Markup

from loadtests.pages.bulk import bulk_periods, counter_by_period
from loadtests.pages.chartkit import (
    GOODPUT,
    LATE,
    OFFERED,
    PERIOD_COLOURS,
    RETRIES,
    WORDS,
    Chart,
    base_layout,
    has_pressure,
    label,
    late_answers,
    per_period,
    period_goodput,
    period_names,
    rate_series,
    spans,
)
from loadtests.pages.html import environment, plotly_js
from loadtests.report import CompareReport, DesignResult

__all__ = ["compare_charts", "render_compare", "summarize", "write_compare_html"]


def _change(now: float, before: float) -> str:
    return "unchanged" if not before else f"{(now - before) / before:+.0%}"


def _one(r: DesignResult) -> str:
    t, lat = r.run.totals, r.run.totals.latency_ms
    if r.passed:
        verdict = "holds the scenario"
    else:
        failed = r.run.slo.failed
        verdict = f"fails it ({', '.join(failed[:3])}{' …' if len(failed) > 3 else ''})"
    words = (
        f"{r.design} {verdict}: {t.throughput_tps:,.0f} answered/s, p50 {lat.p50:,.1f} ms, "
        f"p99 {lat.p99:,.1f} ms, {t.timed_out:,} timed out, {t.lost:,} lost, "
        f"{t.incorrect:,} incorrect"
    )
    if r.run.cache is not None:
        words += (
            f"; its ministries answered {r.run.cache.hit_ratio:.0%} of their "
            f"verifications from their own replicas"
        )
    if r.run.cpu is not None:
        words += f"; {r.run.cpu.total_ms_per_transaction:.2f} ms of CPU per transaction"
    if r.capacity is not None and r.capacity.knee is not None:
        words += f"; its knee is {r.capacity.knee:,.0f} requests/s"
    limit = r.run.limited_by
    if limit is not None:
        words += (
            f"; limited by the {limit.words}" if limit.part else f"; limited by the {limit.side}"
        )
    return words + "."


def _against(r: DesignResult, base: DesignResult) -> str:
    p99, base_p99 = r.run.totals.latency_ms.p99, base.run.totals.latency_ms.p99
    words = f"Against {base.design}, {r.design} moves p99 {_change(p99, base_p99)}"
    verify, base_verify = r.registry_answers("verify"), base.registry_answers("verify")
    if round(verify) != round(base_verify):
        words += (
            f" and the registry answered {verify:,.0f} verifications instead of "
            f"{base_verify:,.0f} ({_change(verify, base_verify)}, "
            "by its own counters)"
        )
    knee, base_knee = (x.capacity.knee if x.capacity else None for x in (r, base))
    if knee and base_knee:
        words += (
            f"; its knee is {_change(knee, base_knee)} ({knee:,.0f} against {base_knee:,.0f}/s)"
        )
    return words + "."


def summarize(results: list[DesignResult]) -> list[str]:
    """One sentence per design, one per design against the first, then the overall verdict."""
    lines = [_one(r) for r in results]
    lines += [_against(r, results[0]) for r in results[1:]]
    holding = [r for r in results if r.passed]
    if not holding:
        lines.append("No design holds the scenario.")
    else:
        best = min(holding, key=lambda r: r.run.totals.latency_ms.p99)
        who = (
            "Every design holds"
            if len(holding) == len(results)
            else (
                "Only "
                + ", ".join(r.design for r in holding)
                + (" holds" if len(holding) == 1 else " hold")
            )
        )
        lines.append(
            f"{who} the scenario; the lowest p99 among them is {best.design}'s "
            f"({best.run.totals.latency_ms.p99:,.1f} ms)."
        )
        knees = [r for r in holding if r.capacity is not None and r.capacity.knee]
        if knees:
            top = max(knees, key=lambda r: (r.capacity.knee or 0.0) if r.capacity else 0.0)
            assert top.capacity is not None and top.capacity.knee is not None
            lines.append(
                f"The most headroom is {top.design}'s: its SLOs hold up to "
                f"{top.capacity.knee:,.0f} requests/s."
            )
    return lines


def _colour(i: int) -> str:
    return PERIOD_COLOURS[i % len(PERIOD_COLOURS)]


def p99_over_time(report: CompareReport) -> Chart:
    """One line per design: p99 second by second from its own timeline."""
    fig = go.Figure()
    for i, r in enumerate(report.results):
        line = r.run.timeline
        fig.add_scatter(
            x=[s.t for s in line],
            y=[s.latency_ms.p99 if s.ended else None for s in line],
            name=label(r.design),
            connectgaps=False,
            line={"color": _colour(i), "width": 1.6, "simplify": False},
        )
    base_layout(fig, 380)
    fig.update_xaxes(title_text="seconds into the run")
    fig.update_yaxes(title_text="p99 ms")
    note = "Each design's p99 per second; the same arrivals were sent to every design."
    return Chart("compare-p99", "p99 latency over time, by design", note, fig)


def throughput_over_time(report: CompareReport) -> Chart:
    """Per design: its goodput, its late answers and its retries per second, kept apart, and
    each period's mean goodput (the table's answered/s) as a dashed segment."""
    fig = go.Figure()
    for i, r in enumerate(report.results):
        line, design, colour = r.run.timeline, label(r.design), _colour(i)
        kept = {GOODPUT, LATE, RETRIES} | ({OFFERED} if i == 0 else set())
        for series in rate_series(line):
            if series.name not in kept:
                continue
            offered = series.name == OFFERED  # the same arrivals on every design: drawn once
            fig.add_scatter(
                x=[s.t for s in line],
                y=series.values,
                name=series.name if offered else f"{design}: {series.name}",
                legendgroup="offered" if offered else design,
                line={
                    "color": series.colour if offered else colour,
                    "width": series.width,
                    "dash": series.dash,
                    "simplify": False,
                },
                hovertemplate=f"%{{y:,}} {series.short}",
            )
        periods, means = spans(line), period_goodput(r.run)
        x, y = per_period(periods, means)
        fig.add_scatter(
            x=x,
            y=y,
            customdata=period_names(periods, means),
            name=f"{design}: {GOODPUT}, period mean",
            legendgroup=design,
            mode="lines",
            line={"color": colour, "dash": "dash", "width": 1.2},
            hovertemplate="%{customdata} mean %{y:,.1f} answered/s",
        )
    base_layout(fig, 420)
    fig.update_xaxes(title_text="seconds into the run")
    fig.update_yaxes(title_text="requests / s")
    note = (
        f"{WORDS} Per design: answered in time (solid), late answers (dashed) and retries "
        "(dash-dot) per second; the dashed segment over each period is its mean goodput, the "
        "table's answered/s for that period."
    )
    return Chart("compare-throughput", "Throughput over time, by design", note, fig, 420)


def pressure_over_time(report: CompareReport) -> Chart:
    """The registry's consumer lag per design, with its slots busy on a second axis."""
    fig = go.Figure()
    for i, r in enumerate(report.results):
        line, design = r.run.timeline, label(r.design)
        fig.add_scatter(
            x=[s.t for s in line],
            y=[s.consumer_lag for s in line],
            name=f"{design}: consumer lag",
            legendgroup=design,
            connectgaps=False,
            line={"color": _colour(i), "width": 1.6, "simplify": False},
            hovertemplate="lag %{y:,.0f} records",
        )
        fig.add_scatter(
            x=[s.t for s in line],
            y=[s.slots_busy for s in line],
            name=f"{design}: slots busy",
            legendgroup=design,
            yaxis="y2",
            connectgaps=False,
            line={"color": _colour(i), "width": 1.2, "dash": "dot", "simplify": False},
            hovertemplate="%{y:,.0f} slots busy",
        )
    base_layout(fig, 380)
    top = max(
        (s.slots or s.slots_busy or 0.0 for r in report.results for s in r.run.timeline),
        default=0.0,
    )
    fig.update_layout(
        yaxis={"title": "consumer lag (records)"},
        yaxis2={
            "title": "slots busy",
            "overlaying": "y",
            "side": "right",
            "range": [0, max(top, 1.0) * 1.08],
            "dtick": max(1, math.ceil(top / 4)),  # whole connections
            "showgrid": False,
        },
    )
    fig.update_xaxes(title_text="seconds into the run")
    note = (
        "The registry's consumer group lag (records behind the end of its request topics, solid) "
        "and its database connections holding a request (dotted, right axis), scraped each "
        "second: where a design tips over, lag climbs while the slots stay full."
    )
    return Chart("compare-pressure", "Registry pressure over time, by design", note, fig)


def cpu(report: CompareReport) -> Chart:
    """Stacked CPU per transaction: which part of the platform each design spends it in."""
    fig = go.Figure()
    parts = sorted({p.component for r in report.results if r.run.cpu for p in r.run.cpu.parts})
    names = [label(r.design) for r in report.results]
    for i, part in enumerate(parts):
        values = [_cpu_of(r, part) for r in report.results]
        fig.add_bar(
            x=names,
            y=values,
            name=label(part),
            marker_color=_colour(i),
            hovertemplate=f"{label(part)} %{{y:.3f}} ms",
        )
    base_layout(fig, 360)
    fig.update_layout(barmode="stack", hovermode="closest")
    fig.update_yaxes(title_text="CPU ms per transaction")
    note = "CPU of each process of the run while the periods played, per answered transaction."
    return Chart("compare-cpu", "CPU per transaction, by component", note, fig)


def _cpu_of(r: DesignResult, part: str) -> float | None:
    if r.run.cpu is None:
        return None
    return next((p.ms_per_transaction for p in r.run.cpu.parts if p.component == part), None)


def registry_load(report: CompareReport) -> Chart:
    """What the registry itself counted answering, by flow: the load a design puts on it."""
    fig = go.Figure()
    flows = sorted(
        {f for r in report.results for p in r.run.phases for f in (p.registry_transactions or {})}
    )
    names = [label(r.design) for r in report.results]
    for i, flow in enumerate(flows):
        fig.add_bar(
            x=names,
            y=[r.registry_answers(flow) for r in report.results],
            name=label(flow),
            marker_color=_colour(i),
        )
    base_layout(fig, 360)
    fig.update_layout(barmode="group", hovermode="closest")
    fig.update_yaxes(title_text="transactions the registry answered")
    note = "From the registry's own Prometheus counters over the measured periods."
    return Chart("compare-registry", "Registry load, by design and flow", note, fig)


def compare_charts(report: CompareReport) -> dict[str, Chart]:
    found = [counter_by_period(report)] if report.bulk else []
    found += [throughput_over_time(report), p99_over_time(report)]
    if any(has_pressure(r.run.timeline) for r in report.results):
        found.append(pressure_over_time(report))
    found.append(registry_load(report))
    if any(r.run.cpu for r in report.results):
        found.append(cpu(report))
    return {c.id: c for c in found}


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


def flows(report: CompareReport) -> list[str]:
    """Every interactive flow any design's periods measured, in the order first met."""
    return list(
        dict.fromkeys(f for r in report.results for p in r.run.phases for f in p.flow_latency_ms)
    )


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
            flows=flows(report),
            bulk_periods=bulk_periods(report),
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
