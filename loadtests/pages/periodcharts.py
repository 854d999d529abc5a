"""Bar charts per played period (latency per flow, outcomes), apart from the time series."""

from __future__ import annotations

import plotly.graph_objects as go

from loadtests.pages.chartkit import (
    PERCENTILES,
    PERIOD_COLOURS,
    RED,
    Chart,
    base_layout,
    label,
    scale_buttons,
)
from loadtests.report import PhaseReport, RunReport

__all__ = ["flow_latency", "outcome_counts", "outcomes"]


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
