"""The report's interactive charts (plotly), built from the typed report and drawn by plotly.js.

The time series, bar charts per played period (latency per flow, outcomes), and where the time
went: each link's p99 split into hops, and agencies over time.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from loadtests.pages.bulk import bulk_lanes
from loadtests.pages.chartkit import (
    BLUE,
    GOODPUT,
    MUTED,
    ORANGE,
    PERCENTILES,
    PERIOD_COLOURS,
    PURPLE,
    RED,
    TEAL,
    WORDS,
    Chart,
    Span,
    base_layout,
    has_pressure,
    label,
    mark_periods,
    per_period,
    period_goodput,
    period_names,
    rate_series,
    scale_buttons,
    spans,
)
from loadtests.report import CapacityResult, HopsReport, PhaseReport, RunReport

__all__ = ["flow_latency", "outcome_counts", "outcomes"]


def _dashed_per_period(
    fig: go.Figure,
    periods: list[Span],
    value: dict[str, float],
    name: str,
    hover: str,
    colour: str,
    row: int,
    **extra: object,
) -> None:
    """A target (rate or SLO) as a dashed segment over each period that has one."""
    x, y = per_period(periods, value)
    fig.add_scatter(
        x=x,
        y=y,
        customdata=period_names(periods, value),
        name=name,
        row=row,
        col=1,
        hovertemplate=hover,
        mode="lines",
        line={"color": colour, "dash": "dash", "width": 1.4},
        **extra,
    )


def _rates(fig: go.Figure, report: RunReport, periods: list[Span]) -> None:
    """Row 1: what was offered and what became of it, per second, in the tables' words."""
    timeline = report.timeline
    seconds = [s.t for s in timeline]
    for series in rate_series(timeline):
        fig.add_scatter(
            x=seconds,
            y=series.values,
            name=series.name,
            row=1,
            col=1,
            line={"color": series.colour, "width": series.width, "dash": series.dash},
            hovertemplate=f"%{{y:,}} {series.short}",
        )
    targets = {p.name: p.target_rate_per_s for p in report.phases}
    _dashed_per_period(fig, periods, targets, "target rate", "target %{y:,.1f}/s", MUTED, 1)
    means = period_goodput(report)
    _dashed_per_period(
        fig,
        periods,
        means,
        f"{GOODPUT}, period mean",
        "%{customdata} mean %{y:,.1f} answered/s",
        BLUE,
        1,
    )


def _latency(fig: go.Figure, report: RunReport, periods: list[Span]) -> None:
    """Row 2: p50 and p99 of the requests that ended in each second, and the p99 SLO."""
    timeline = report.timeline
    seconds = [s.t for s in timeline]
    for pct, colour in (("p50", TEAL), ("p99", ORANGE)):
        values = [getattr(s.latency_ms, pct) if s.ended else None for s in timeline]
        fig.add_scatter(
            x=seconds,
            y=values,
            name=f"{pct} ms",
            row=2,
            col=1,
            connectgaps=False,
            line={"color": colour, "width": 1.6, "simplify": False},
            hovertemplate=f"{pct} %{{y:,.1f}} ms",
        )
    slo: dict[str, float] = {}
    for check in report.slo.checks:
        if check.percentile == "p99" and check.period is not None:
            slo[check.period] = min(check.target, slo.get(check.period, check.target))
    if slo:
        # A target far above what was measured would flatten the lines; it starts hidden then.
        peak = max((s.latency_ms.p99 for s in timeline), default=0.0)
        shown = peak >= min(slo.values()) / 3
        _dashed_per_period(
            fig,
            periods,
            slo,
            "p99 SLO",
            "SLO %{y:,.0f} ms",
            RED,
            2,
            visible=True if shown else "legendonly",
        )


def _pressure(fig: go.Figure, report: RunReport) -> None:
    """Row 3: the registry's consumer lag (left axis) and its slots busy of all (right)."""
    timeline = report.timeline
    seconds = [s.t for s in timeline]
    fig.add_scatter(
        x=seconds,
        y=[s.consumer_lag for s in timeline],
        name="consumer lag (records)",
        row=3,
        col=1,
        connectgaps=False,
        fill="tozeroy",
        fillcolor="rgba(185,28,28,0.08)",
        line={"color": RED, "width": 1.6, "simplify": False},
        hovertemplate="lag %{y:,.0f} records",
        secondary_y=False,
    )
    fig.add_scatter(
        x=seconds,
        y=[s.slots_busy for s in timeline],
        name="slots busy",
        row=3,
        col=1,
        connectgaps=False,
        line={"color": PURPLE, "width": 1.6, "simplify": False},
        hovertemplate="%{y:,.0f} slots busy",
        secondary_y=True,
    )
    if any(s.slots for s in timeline):
        fig.add_scatter(
            x=seconds,
            y=[s.slots for s in timeline],
            name="slots",
            row=3,
            col=1,
            connectgaps=False,
            line={"color": PURPLE, "width": 1, "dash": "dot", "simplify": False},
            hovertemplate="of %{y:,.0f} slots",
            secondary_y=True,
        )


def over_time(report: RunReport) -> Chart:
    """Offered rate, goodput and what else came back; latency; and, when the registry was
    scraped, its consumer lag and slots busy: all on one time axis, so zooming one zooms all
    and the moment a design tips over is seen."""
    pressure = has_pressure(report.timeline)
    rows = 3 if pressure else 2
    plain: dict[str, object] = {}
    specs = [[plain], [plain]] + ([[{"secondary_y": True}]] if pressure else [])
    heights = [0.42, 0.3, 0.28] if pressure else [0.55, 0.45]
    height = 760 if pressure else 560
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=heights,
        specs=specs,
    )
    periods = spans(report.timeline)
    _rates(fig, report, periods)
    _latency(fig, report, periods)
    if pressure:
        _pressure(fig, report)
    base_layout(fig, height)
    mark_periods(fig, report, periods)
    fig.update_xaxes(title_text="seconds into the run", row=rows, col=1)
    fig.update_yaxes(title_text="requests / s", row=1, col=1)
    fig.update_yaxes(title_text="latency ms", row=2, col=1)
    if pressure:
        fig.update_yaxes(title_text="lag (records)", row=3, col=1, secondary_y=False)
        top = max((s.slots or s.slots_busy or 0.0 for s in report.timeline), default=0.0)
        fig.update_yaxes(
            title_text="slots busy",
            row=3,
            col=1,
            secondary_y=True,
            showgrid=False,
            range=[0, max(top, 1.0) * 1.08],
            dtick=max(1, math.ceil(top / 4)),  # whole connections
        )
    latency_top = fig.layout.yaxis2.domain[1]
    fig.update_layout(updatemenus=[scale_buttons("yaxis2", y=latency_top - 0.02)])
    note = (
        f"{WORDS} Latency counts from the intended send time, for every request that ended in "
        "the second, answered or timed out."
        + (
            " The registry's consumer lag (records its group is behind) and slots busy (its "
            "database connections holding a request) are scraped from its instances each second."
            if pressure
            else ""
        )
        + " Drag to zoom (every panel follows), double-click to reset, click a legend entry to "
        "hide it."
    )
    return Chart("chart-over-time", "Throughput and latency over time", note, fig, height)


def capacity(result: CapacityResult) -> Chart:
    """p99 against the offered rate, failing steps in red, the knee marked."""
    steps = sorted(result.steps, key=lambda s: s.rate)
    fig = go.Figure()
    fig.add_scatter(
        x=[s.rate for s in steps],
        y=[s.p99_ms for s in steps],
        name="p99 at a rate",
        mode="lines+markers",
        line={"color": ORANGE},
        hovertemplate="p99 %{y:,.1f} ms",
    )
    failed = [s for s in steps if not s.passed]
    if failed:
        fig.add_scatter(
            x=[s.rate for s in failed],
            y=[s.p99_ms for s in failed],
            mode="markers",
            name="SLOs fail",
            marker={"color": RED, "size": 11, "symbol": "x"},
            hovertemplate="fails at %{x:,.0f}/s",
        )
    if result.knee is not None:
        fig.add_vline(
            x=result.knee,
            line={"color": TEAL, "dash": "dash"},
            annotation_text=f"knee {result.knee:,.0f}/s",
        )
    base_layout(fig, 380)
    fig.update_layout(
        hovermode="closest", xaxis_title="offered rate (requests / s)", yaxis_title="p99 ms"
    )
    note = "Each point is one step of the search; the knee is the highest rate whose SLOs hold."
    return Chart("chart-capacity", "p99 latency against offered rate", note, fig)


def charts(report: RunReport) -> dict[str, Chart]:
    """Every chart the report has data for, by id."""
    found = [over_time(report)] if report.timeline else []
    if any(p.flow_latency_ms for p in report.phases):
        found.append(flow_latency(report))
    if report.phases:
        found.append(outcomes(report))
    if report.capacity is not None and report.capacity.steps:
        found.append(capacity(report.capacity))
    if report.bulk is not None and report.bulk.lanes:
        found.append(bulk_lanes(report))
    found.extend(hop_charts(report))
    return {c.id: c for c in found}


def flow_latency(report: RunReport) -> Chart:
    """p50/p95/p99 per flow, grouped by period, with each flow's p99 SLO as a tick."""
    rows = [(p.name, f, lat) for p in report.phases for f, lat in p.flow_latency_ms.items()]
    x = [[label(n) for n, _, _ in rows], [label(f) for _, f, _ in rows]]
    fig = go.Figure()
    for pct, colour in PERCENTILES.items():
        fig.add_bar(
            x=x,
            y=[getattr(lat, pct) for _, _, lat in rows],
            name=pct,
            marker_color=colour,
            hovertemplate=f"{pct} %{{y:,.1f}} ms",
        )
    targets = {(c.period, c.flow): c.target for c in report.slo.checks if c.percentile == "p99"}
    ticks = [targets.get((n, f)) for n, f, _ in rows]
    if any(t is not None for t in ticks):
        fig.add_scatter(
            x=x,
            y=ticks,
            name="p99 SLO",
            mode="markers",
            hovertemplate="SLO %{y} ms",
            marker={
                "symbol": "line-ew-open",
                "size": 34,
                "color": RED,
                "line": {"width": 2.5, "color": RED},
            },
        )
    base_layout(fig, 380)
    fig.update_layout(barmode="group", bargap=0.25, yaxis_title="latency ms")
    note = "Per period and flow, from each flow's own histogram; the red tick is its p99 target."
    return Chart("chart-flow-latency", "Latency per flow", note, fig)


def outcome_counts(p: PhaseReport) -> dict[str, int]:
    return {
        **p.outcomes,
        "timed out": p.timed_out,
        "dead-lettered": p.dead_lettered,
        "lost": p.lost,
    }


def outcomes(report: RunReport) -> Chart:
    """What became of the requests sent, per outcome, one bar per period on a log scale."""
    counts = [outcome_counts(p) for p in report.phases]
    kinds = [
        k for k in dict.fromkeys(k for c in counts for k in c) if any(c.get(k) for c in counts)
    ]
    fig = go.Figure()
    for i, (p, c) in enumerate(zip(report.phases, counts, strict=True)):
        values = [c.get(k, 0) for k in kinds]
        fig.add_bar(
            x=[label(k) for k in kinds],
            y=values,
            name=label(p.name),
            customdata=[v / max(p.sent, 1) for v in values],
            marker_color=PERIOD_COLOURS[i % len(PERIOD_COLOURS)],
            hovertemplate="%{y:,} (%{customdata:.2%} of sent)",
        )
    base_layout(fig, 380)
    axis = {"title": "requests", "type": "log", "dtick": 1}
    fig.update_layout(
        barmode="group", bargap=0.3, yaxis=axis, updatemenus=[scale_buttons("yaxis", log=True)]
    )
    note = (
        "Every request sent ends in one of these; a log scale so that rare outcomes show. "
        "Click a period in the legend to hide it."
    )
    return Chart("chart-outcomes", "Outcomes per period", note, fig)


HOP_COLOURS = {"generator": MUTED, "request": BLUE, "registry": ORANGE, "reply": TEAL}


MAX_LINKS = 40  # the slowest links; a national topology has ~160


def hop_breakdown(hops: HopsReport) -> Chart:
    """Per link, the p99 of each hop's own histogram, stacked (percentiles do not add up
    exactly; the stack shows where the tail is, the table beside it the figures)."""
    links = [link for link in hops.links if link.hops_ms][:MAX_LINKS]
    names = [link.name for link in links]
    fig = go.Figure()
    for hop in hops.hops:
        fig.add_bar(
            y=names,
            x=[link.hops_ms[hop].p99 if hop in link.hops_ms else 0.0 for link in links],
            name=hop,
            orientation="h",
            marker_color=HOP_COLOURS.get(hop, MUTED),
            hovertemplate=f"%{{y}}<br>{hop} p99 %{{x:,.1f}} ms<extra></extra>",
        )
    height = max(260, 28 * len(links) + 120)
    base_layout(fig, height)
    fig.update_layout(
        barmode="stack",
        xaxis_title="p99 of each hop, ms",
        hovermode="closest",
        yaxis={"autorange": "reversed"},
    )
    note = (
        "Slowest links first. Each bar stacks a link's hop p99s (percentiles do not add up; the "
        "table has the figures): generator "
        "(intended → sent), request (sent → registry took it up: delivery and consumer lag), "
        "registry (its own work) and reply (answered → received). Hover for figures."
    )
    return Chart("chart-hops", "Where the time goes, per link", note, fig, height)


def link_heatmap(hops: HopsReport) -> Chart:
    """Agencies × time, colour = end-to-end p99: one province or all of them?"""
    assert hops.heatmap is not None
    heat = hops.heatmap
    fig = go.Figure(
        go.Heatmap(
            z=heat.p99_ms,
            x=heat.starts_s,
            y=heat.agencies,
            colorscale="YlOrRd",
            colorbar={"title": "p99 ms"},
            hoverongaps=False,
            hovertemplate="%{y}<br>from %{x} s<br>p99 %{z:,.1f} ms<extra></extra>",
        )
    )
    height = max(260, 22 * len(heat.agencies) + 120)
    base_layout(fig, height)
    fig.update_layout(
        xaxis_title=f"seconds into the run ({heat.bucket_s:g} s buckets)",
        hovermode="closest",
        yaxis={"autorange": "reversed"},
    )
    note = "Each cell is one agency's end-to-end p99 over a few seconds; drag to zoom."
    return Chart("chart-link-heatmap", "p99 per agency over time", note, fig, height)


def hop_charts(report: RunReport) -> list[Chart]:
    hops = report.hops
    if hops is None or not hops.links:
        return []
    found = [hop_breakdown(hops)] if hops.stamped else []
    if hops.heatmap is not None:
        found.append(link_heatmap(hops))
    return found
