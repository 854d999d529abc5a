"""Plotly pieces every report chart shares: layout, period bands, labels, the Chart itself."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import plotly.graph_objects as go
import plotly.io as pio

from loadtests.reportmodel import RunReport, TimelineSecond

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"
BLUE, TEAL, ORANGE, RED = "#2563eb", "#0d9488", "#ea580c", "#b91c1c"
BANDS = ("rgba(37,99,235,0.06)", "rgba(13,148,136,0.07)")
WARMUP_BAND = "rgba(107,114,128,0.10)"
PERIOD_COLOURS = (BLUE, TEAL, "#7c3aed", "#db2777", "#ca8a04", "#475569")
PERCENTILES = {"p50": TEAL, "p95": "#7c3aed", "p99": ORANGE}
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
