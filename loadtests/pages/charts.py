"""The report's interactive charts (plotly): built from the typed report, drawn by plotly.js."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from loadtests.pages.chartkit import (
    BLUE,
    GOODPUT,
    MUTED,
    ORANGE,
    PURPLE,
    RED,
    TEAL,
    WORDS,
    Chart,
    Span,
    base_layout,
    has_pressure,
    mark_periods,
    per_period,
    period_goodput,
    period_names,
    rate_series,
    scale_buttons,
    spans,
)
from loadtests.pages.hopcharts import hop_charts
from loadtests.pages.periodcharts import flow_latency, outcomes
from loadtests.report import CapacityResult, RunReport


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
    found.extend(hop_charts(report))
    return {c.id: c for c in found}
