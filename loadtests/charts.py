"""The report's interactive charts (plotly): built from the typed report, drawn by plotly.js."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from loadtests.chartkit import (
    BLUE,
    MUTED,
    ORANGE,
    RED,
    TEAL,
    Chart,
    Span,
    base_layout,
    mark_periods,
    per_period,
    scale_buttons,
    spans,
)
from loadtests.hopcharts import hop_charts
from loadtests.periodcharts import flow_latency, outcomes
from loadtests.reportmodel import CapacityResult, RunReport


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
        name=name,
        row=row,
        col=1,
        hovertemplate=hover,
        mode="lines",
        line={"color": colour, "dash": "dash", "width": 1.4},
        **extra,
    )


def over_time(report: RunReport) -> Chart:
    """Throughput and latency per second on one time axis: zooming one zooms both."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    timeline, periods = report.timeline, spans(report.timeline)
    seconds = [s.t for s in timeline]
    fig.add_scatter(
        x=seconds,
        y=[s.answered for s in timeline],
        name="answered/s",
        row=1,
        col=1,
        line={"color": BLUE, "width": 1.6, "simplify": False},
        hovertemplate="%{y:,} answered",
    )
    targets = {p.name: p.target_rate_per_s for p in report.phases}
    _dashed_per_period(fig, periods, targets, "target rate", "target %{y:,.1f}/s", MUTED, 1)
    for pct, colour in (("p50", TEAL), ("p99", ORANGE)):
        values = [getattr(s.latency_ms, pct) if s.answered else None for s in timeline]
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
    base_layout(fig, 560)
    mark_periods(fig, report, periods)
    fig.update_xaxes(title_text="seconds into the run", row=2, col=1)
    fig.update_yaxes(title_text="answered / s", row=1, col=1)
    fig.update_yaxes(title_text="latency ms", row=2, col=1)
    fig.update_layout(updatemenus=[scale_buttons("yaxis2", y=0.46)])
    note = (
        "Drag to zoom (both panels follow), double-click to reset, click a legend entry to "
        "hide it. Latency counts from the intended send time."
    )
    return Chart("chart-over-time", "Throughput and latency over time", note, fig, 560)


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
