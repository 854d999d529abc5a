"""The comparison's charts: every design on the same axes, so the difference is what shows."""

from __future__ import annotations

import math

import plotly.graph_objects as go

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
    per_period,
    period_goodput,
    period_names,
    rate_series,
    spans,
)
from loadtests.report import CompareReport, DesignResult

__all__ = ["compare_charts"]


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
    found = [throughput_over_time(report), p99_over_time(report)]
    if any(has_pressure(r.run.timeline) for r in report.results):
        found.append(pressure_over_time(report))
    found.append(registry_load(report))
    if any(r.run.cpu for r in report.results):
        found.append(cpu(report))
    return {c.id: c for c in found}
