"""Where the time went, drawn: each link's p99 split into hops, and agencies over time."""

from __future__ import annotations

import plotly.graph_objects as go

from loadtests.pages.chartkit import BLUE, MUTED, ORANGE, TEAL, Chart, base_layout
from loadtests.report import RunReport
from loadtests.report.hops import HopsReport

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
