"""Bulk sharing on the pages: a comparison's verdict on which design protected the counters
and what it cost the bulk job, and the charts of a bulk job on the run and compare pages."""

from __future__ import annotations

import math
from dataclasses import dataclass

import plotly.graph_objects as go

from loadtests.pages.chartkit import BLUE, ORANGE, PERIOD_COLOURS, Chart, base_layout, label
from loadtests.report import BulkJobReport, CompareReport, DesignResult, RunReport

__all__ = ["bulk_lanes", "bulk_periods", "bulk_verdict", "counter_by_period"]


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _times(value: float, base: float) -> str:
    """How many times `base` a figure is, to one decimal below ten."""
    ratio = value / base if base else math.inf
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:,.0f}×"


@dataclass(frozen=True)
class _Felt:
    """One design's bulk job and what the counter felt in its period and in the one before."""

    design: str
    flow: str
    job: BulkJobReport
    during: float
    before: float | None


def _felt(r: DesignResult, job: str) -> _Felt | None:
    """`job` on design `r`, with the counter's p99 in its period and in the period before it."""
    side = r.bulk_side()
    bulk = r.run.bulk
    found = next((j for j in bulk.jobs if j.name == job), None) if bulk else None
    if side is None or found is None:
        return None
    during = side.counter_p99(found.period)
    if during is None:
        return None
    periods = list(side.counter_ms)
    at = periods.index(found.period)
    before = side.counter_p99(periods[at - 1]) if at > 0 else None
    return _Felt(r.design, side.counter_flow, found, during, before)


def _cost(best: _Felt, felt: list[_Felt]) -> str:
    """What protecting the counter cost the bulk job, against the fastest design's job."""
    job = best.job
    if job.completed_s is None:
        words = f"the job did not finish: {job.answered:,} of {job.items:,} items answered"
    else:
        done = [f for f in felt if f.job.completed_s is not None]
        fastest = min(done, key=lambda f: f.job.completed_s or 0.0)
        took, quickest = job.completed_s, fastest.job.completed_s or 0.0
        words = f"the job took {took:,.1f} s"
        if fastest is best or took <= quickest:
            words += ", the fastest of the designs"
        elif took <= quickest * 1.1 or took - quickest <= 0.5:
            words += f", as fast as {fastest.design}'s {quickest:,.1f} s"
        else:
            words += f", {_times(took, quickest)} {fastest.design}'s {quickest:,.1f} s"
            if job.met_deadline:
                words += f", still within its {job.deadline_s:,.0f} s deadline"
        if not job.met_deadline:
            words += f", missing its {job.deadline_s:,.0f} s deadline"
    if job.lost or job.incorrect:
        words += f", with {job.lost:,} lost and {job.incorrect:,} incorrect"
    return words


def bulk_verdict(results: list[DesignResult]) -> str | None:
    """Which design kept the counter nearest its level before the bulk job, and at what cost."""
    first = next((r.run.bulk.jobs[0] for r in results if r.run.bulk and r.run.bulk.jobs), None)
    if first is None:
        return None
    felt = [f for r in results if (f := _felt(r, first.name)) is not None]
    if len(felt) < 2:
        return None
    baseline = all(f.before is not None for f in felt)

    def disturbed(f: _Felt) -> float:
        """How far the job moved the counter from its level before, when every design has one."""
        return f.during - (f.before or 0.0) if baseline else f.during

    best = min(felt, key=disturbed)
    worst = max((f for f in felt if f is not best), key=lambda f: f.during)
    calm = best.before is not None and best.during <= 2 * best.before
    words = f"{best.design} protected the counter{'' if calm else ' best'}: "
    words += f"{best.flow} p99 during the job {_ms(best.during)}"
    if best.before is not None:
        words += f" ({_ms(best.before)} before it)"
    words += f", against {_ms(worst.during)} on {worst.design}"
    if worst.during >= 1.5 * best.during:
        words += f" ({_times(worst.during, best.during)} higher)"
    return f"{words}; {_cost(best, felt)}."


def bulk_periods(report: CompareReport) -> set[str]:
    """The periods that held a bulk job on any design."""
    return {j.period for s in report.bulk for j in s.jobs}


def counter_by_period(report: CompareReport) -> Chart:
    """The counter's p99 per period, one bar per design: what the bulk job did to it."""
    fig = go.Figure()
    names = list(dict.fromkeys(p for s in report.bulk for p in s.counter_ms))
    held = bulk_periods(report)
    for i, side in enumerate(report.bulk):
        fig.add_bar(
            x=[label(f"{n} (bulk job)" if n in held else n) for n in names],
            y=[side.counter_p99(n) for n in names],
            name=label(side.design),
            marker_color=PERIOD_COLOURS[i % len(PERIOD_COLOURS)],
            hovertemplate="p99 %{y:,.1f} ms",
        )
    base_layout(fig, 360)
    fig.update_layout(barmode="group", hovermode="closest")
    fig.update_yaxes(title_text="p99 ms")
    counted = sorted({s.counter_flow for s in report.bulk})
    note = (
        f"The {', '.join(counted)} p99 of each period, per design: the period marked holds the "
        "bulk job; the one before it is the counter undisturbed."
    )
    return Chart("compare-bulk", "The counter during the bulk job, by design", note, fig)


def bulk_lanes(report: RunReport) -> Chart:
    """What each lane of the registry answered, interactive and bulk, so a lane's mix shows."""
    assert report.bulk is not None
    lanes = report.bulk.lanes
    names = [label(x.lane) for x in lanes]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[x.interactive for x in lanes],
        name="interactive answers",
        marker_color=BLUE,
        hovertemplate="%{y:,.0f} interactive",
    )
    fig.add_bar(
        x=names,
        y=[x.bulk for x in lanes],
        name="bulk items",
        marker_color=ORANGE,
        hovertemplate="%{y:,.0f} bulk items",
    )
    base_layout(fig, 320)
    fig.update_layout(barmode="group", hovermode="closest", yaxis_title="answered")
    note = "From the registry's own counters over the run, by the lane that answered."
    return Chart("chart-bulk-lanes", "Registry load by lane", note, fig, 320)
