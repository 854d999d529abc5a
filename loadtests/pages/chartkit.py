"""Plotly pieces every report chart shares: layout, period bands, labels, the Chart itself."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import plotly.graph_objects as go
import plotly.io as pio

from loadtests.report import RunReport, TimelineSecond

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"
BLUE, TEAL, ORANGE, RED = "#2563eb", "#0d9488", "#ea580c", "#b91c1c"
PURPLE, GREY = "#7c3aed", "#9ca3af"
BANDS = ("rgba(37,99,235,0.06)", "rgba(13,148,136,0.07)")
WARMUP_BAND = "rgba(107,114,128,0.10)"
PERIOD_COLOURS = (BLUE, TEAL, PURPLE, "#db2777", "#ca8a04", "#475569")
PERCENTILES = {"p50": TEAL, "p95": PURPLE, "p99": ORANGE}
# The words of every throughput series, the same as the tables' columns.
GOODPUT = "answered/s (goodput)"
OFFERED = "offered/s"
TIMED_OUT = "timed out/s"
LATE = "late answers/s"
RETRIES = "retries/s"
WORDS = (
    "Answered (goodput): answers their requester accepted, before its timeout; the tables' "
    "answered/s. Late answers: answers that came after their requester had given up, counted "
    "but never accepted. Timed out: requests given up on. Retries: requests sent again after a "
    "timeout. Offered: requests due to be sent in the second."
)
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its element id, heading, a sentence on how to read it, the figure."""

    id: str
    title: str
    note: str
    figure: go.Figure
    height: int = 380

    def html(self) -> str:
        """A div and the script that draws it; report strings in the JSON are \\u003c-escaped."""
        html = pio.to_html(
            self.figure,
            include_plotlyjs=False,
            full_html=False,
            div_id=self.id,
            config=CONFIG,
            default_height=f"{self.height}px",
        )
        return str(html)


@dataclass(frozen=True)
class RateSeries:
    """One per-second count of the timeline, drawn as a line: its words, its look."""

    name: str
    short: str  # for the hover label
    values: list[int]
    colour: str
    width: float = 1.4
    dash: str = "solid"


def rate_series(timeline: list[TimelineSecond]) -> list[RateSeries]:
    """Offered, answered in time (goodput), timed out, answered late and sent again: per second,
    each kept apart from the others."""
    return [
        RateSeries(OFFERED, "offered", [s.offered for s in timeline], GREY, 1.2, "dot"),
        RateSeries(GOODPUT, "answered", [s.answered for s in timeline], BLUE, 2.0),
        RateSeries(TIMED_OUT, "timed out", [s.timed_out for s in timeline], RED, 1.2),
        RateSeries(LATE, "late answers", [s.late_answers for s in timeline], ORANGE, 1.4, "dash"),
        RateSeries(RETRIES, "retries", [s.retries for s in timeline], PURPLE, 1.2, "dashdot"),
    ]


def has_pressure(timeline: list[TimelineSecond]) -> bool:
    """Whether the registry was scraped during the run (older reports have no such data)."""
    return any(s.consumer_lag is not None or s.slots_busy is not None for s in timeline)


def period_goodput(report: RunReport) -> dict[str, float]:
    """Each period's mean goodput as the timeline has it: the answers it accepted in the
    period's seconds over the period's length, the figure its table row gives as answered/s."""
    answered: dict[str, int] = {}
    for s in report.timeline:
        answered[s.phase] = answered.get(s.phase, 0) + s.answered
    phases = [p for p in (report.warmup, *report.phases) if p is not None]
    return {
        p.name: answered.get(p.name, 0) / p.duration_s
        for p in phases
        if p.duration_s > 0 and p.name in answered
    }


@dataclass(frozen=True)
class LateAnswers:
    """Late answers per period and in all, as the charts draw them: counted in the second they
    came, until the run's end (so those that come after their period has drained count too)."""

    by_period: dict[str, int]
    total: int


def late_answers(report: RunReport) -> LateAnswers:
    """From the timeline's seconds; a report from before they were counted per second (its
    seconds offer nothing) keeps its ledgers' counts."""
    if not any(s.offered for s in report.timeline):
        phases = [p for p in (report.warmup, *report.phases) if p is not None]
        return LateAnswers({p.name: p.late_answers for p in phases}, report.late_answers)
    by_period: dict[str, int] = {}
    for s in report.timeline:
        by_period[s.phase] = by_period.get(s.phase, 0) + s.late_answers
    return LateAnswers(by_period, sum(by_period.values()))


@dataclass(frozen=True)
class Span:
    """A run of seconds played by one phase, [start, end)."""

    name: str
    start: int
    end: int


def spans(timeline: list[TimelineSecond]) -> list[Span]:
    out: list[Span] = []
    for s in timeline:
        if out and out[-1].name == s.phase:
            out[-1] = Span(s.phase, out[-1].start, s.t + 1)
        else:
            out.append(Span(s.phase, s.t, s.t + 1))
    return out


def label(text: object) -> str:
    """Plotly reads tags in text as markup; a report string is shown as written, never parsed."""
    return escape(str(text), quote=False)


def base_layout(fig: go.Figure, height: int) -> None:
    fig.update_layout(
        template="plotly_white",
        height=height,
        hovermode="x unified",
        font={"family": FONT, "size": 12, "color": INK},
        margin={"l": 64, "r": 24, "t": 64, "b": 48},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "left", "x": 0},
        hoverlabel={"font": {"family": FONT}},
        plot_bgcolor="white",
    )
    fig.update_xaxes(gridcolor=GRID, zeroline=False)
    fig.update_yaxes(gridcolor=GRID, zeroline=False, rangemode="tozero")


def mark_periods(fig: go.Figure, report: RunReport, periods: list[Span]) -> None:
    """A shaded band per period named at the top, and a dotted line where each fault began."""
    for i, span in enumerate(periods):
        colour = WARMUP_BAND if span.name == "warm-up" else BANDS[i % 2]
        fig.add_shape(
            type="rect",
            x0=span.start,
            x1=span.end,
            y0=0,
            y1=1,
            xref="x",
            yref="paper",
            fillcolor=colour,
            line_width=0,
            layer="below",
        )
        fig.add_annotation(
            x=(span.start + span.end) / 2,
            y=1.0,
            xref="x",
            yref="paper",
            yanchor="bottom",
            text=f"<b>{label(span.name)}</b>",
            showarrow=False,
            font={"color": MUTED, "size": 11},
        )
    starts = {s.name: s.start for s in periods}
    for fault in report.faults:
        if fault.period in starts:
            at = starts[fault.period] + fault.at_s
            fig.add_shape(
                type="line",
                x0=at,
                x1=at,
                y0=0,
                y1=1,
                xref="x",
                yref="paper",
                line={"color": RED, "dash": "dot", "width": 1},
            )
            fig.add_annotation(
                x=at,
                y=0.98,
                xref="x",
                yref="paper",
                text=label(fault.action),
                showarrow=False,
                xanchor="left",
                font={"color": RED, "size": 10},
            )


def scale_buttons(axis: str, y: float = 1.0, log: bool = False) -> dict[str, object]:
    """Two buttons that switch an axis between linear and log scale."""
    return {
        "type": "buttons",
        "direction": "left",
        "x": 1,
        "y": y,
        "xanchor": "right",
        "yanchor": "bottom",
        "pad": {"b": 4},
        "font": {"size": 11},
        "showactive": True,
        "active": 1 if log else 0,
        "buttons": [
            {
                "label": "linear",
                "method": "relayout",
                "args": [{f"{axis}.type": "linear", f"{axis}.dtick": None}],
            },
            {
                "label": "log",
                "method": "relayout",  # a tick per power of ten, not 2 and 5 too
                "args": [{f"{axis}.type": "log", f"{axis}.dtick": 1}],
            },
        ],
    }


def per_period(periods: list[Span], value: dict[str, float]) -> tuple[list[float | None], ...]:
    """A horizontal segment over each period that has a value, broken between periods."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for span in periods:
        if span.name in value:
            xs += [span.start, span.end, None]
            ys += [value[span.name], value[span.name], None]
    return xs, ys


def period_names(periods: list[Span], value: dict[str, float]) -> list[str | None]:
    """The period each point of `per_period`'s segments belongs to (its hover, its readers)."""
    names: list[str | None] = []
    for span in periods:
        if span.name in value:
            names += [span.name, span.name, None]
    return names
