"""The comparison's charts: every design on the same axes, so the difference is what shows."""

from __future__ import annotations

import plotly.graph_objects as go

from loadtests.chartkit import PERIOD_COLOURS, Chart, base_layout, label
from loadtests.reportmodel import CompareReport, DesignResult

__all__ = ["compare_charts"]


def _colour(i: int) -> str:
    return PERIOD_COLOURS[i % len(PERIOD_COLOURS)]


def over_time(report: CompareReport, what: str) -> Chart:
    """One line per design: p99 (or answered/s) second by second from its own timeline."""
    fig = go.Figure()
    for i, r in enumerate(report.results):
        line = r.run.timeline
        ys = [
            (s.latency_ms.p99 if s.answered else None) if what == "p99" else s.answered
            for s in line
        ]
        fig.add_scatter(
            x=[s.t for s in line],
            y=ys,
            name=label(r.design),
            connectgaps=False,
            line={"color": _colour(i), "width": 1.6, "simplify": False},
        )
    base_layout(fig, 380)
    fig.update_xaxes(title_text="seconds into the run")
    if what == "p99":
        fig.update_yaxes(title_text="p99 ms")
        note = "Each design's p99 per second; the same arrivals were sent to every design."
        return Chart("compare-p99", "p99 latency over time, by design", note, fig)
    fig.update_yaxes(title_text="answered / s")
    note = "Answers per second: a dip is an outage, a ramp a backlog being worked off."
    return Chart("compare-throughput", "Throughput over time, by design", note, fig)


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
    found = [over_time(report, "p99"), over_time(report, "throughput"), registry_load(report)]
    if any(r.run.cpu for r in report.results):
        found.append(cpu(report))
    return {c.id: c for c in found}
