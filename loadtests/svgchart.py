"""Inline SVG line charts for the run report, so the page needs no script and no network."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

W, H = 960, 270
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 40
CHART_CSS = """
svg.chart{width:100%;height:auto;display:block;font-size:11px;fill:#555;margin:6px 0 14px}
.band-0{fill:#eef2f8}.band-1{fill:#f8f1e6}.band-label{fill:#444;font-weight:600}
.grid line{stroke:#e6e6e6}.axes line{stroke:#888}.axis-title{fill:#333}
.series polyline,.series line{fill:none;stroke-width:1.8}
.s-answered{stroke:#1f5fbf;fill:#1f5fbf}.s-target{stroke:#777;fill:#777}
.s-p50{stroke:#2e8b57;fill:#2e8b57}.s-p99,.s-slo{stroke:#c0392b;fill:#c0392b}
.s-fail{stroke:#c0392b;fill:#fff;stroke-width:2}
.s-target polyline,.s-target line,.s-slo polyline,.s-slo line{stroke-dasharray:6 4;stroke-width:1.3}
.marker line{stroke:#6a3d9a;stroke-width:1.5;stroke-dasharray:3 3}.marker text{fill:#6a3d9a}
"""
CHAR_W = 6.5  # rough width of one label character at the chart's font size

Point = tuple[float, float]
Scale = Callable[[float], float]


@dataclass(frozen=True)
class Series:
    """One legend entry: a CSS class and one or more unconnected runs of points."""

    name: str
    css: str
    segments: list[list[Point]]
    line: bool = True
    dots: bool = False


@dataclass(frozen=True)
class Band:
    """A shaded stretch of the x axis, such as one period of a run."""

    label: str
    x0: float
    x1: float


@dataclass(frozen=True)
class Marker:
    """A labelled vertical line, such as the capacity knee."""

    label: str
    x: float


@dataclass(frozen=True)
class Chart:
    """What to draw: the series, the context behind them, and the axis titles."""

    svg_id: str
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    x_range: tuple[float, float] = (0.0, 1.0)


def nice_step(span: float, count: int = 5) -> float:
    """A 1, 2 or 5 times a power of ten step that cuts span into about count parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return float(mult * power)
    return float(10 * power)


def ticks(lo: float, hi: float, count: int = 5, step: float = 0.0) -> list[float]:
    step = step or nice_step(hi - lo, count)
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [round(k * step, 10) for k in range(first, last + 1)]


def label(value: float) -> str:
    return f"{value / 1000:g}k" if abs(value) >= 10_000 else f"{value:g}"


def _domain(chart: Chart) -> tuple[float, float, float, float]:
    points = [p for s in chart.series for seg in s.segments for p in seg]
    x0, x1 = chart.x_range[0], max(chart.x_range[1], chart.x_range[0] + 1e-9)
    y_top = max([y for _, y in points] + [0.0])
    y_step = nice_step(y_top * 1.04 or 1.0, 5)
    return x0, x1, math.ceil(y_top * 1.04 / y_step) * y_step or y_step, y_step


def render_chart(chart: Chart) -> str:
    """One complete <svg> element with bands, grid, axes, series, markers and a legend."""
    x0, x1, y_max, y_step = _domain(chart)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - y / y_max * plot_h

    out = [
        f'<svg id="{escape(chart.svg_id)}" class="chart" viewBox="0 0 {W} {H}" role="img">'
        f"<title>{escape(chart.title)}</title>"
    ]
    out.append('<g class="bands">')
    for i, band in enumerate(chart.bands):
        bx0, bx1 = sx(max(band.x0, x0)), sx(min(band.x1, x1))
        out.append(
            f'<rect class="band band-{i % 2}" x="{bx0:.1f}" y="{TOP}" width="{bx1 - bx0:.1f}" '
            f'height="{plot_h}"><title>{escape(band.label)}</title></rect>'
        )
        if len(band.label) * CHAR_W < bx1 - bx0 - 8:
            out.append(
                f'<text class="band-label" x="{bx0 + 4:.1f}" y="{TOP + 13}">'
                f"{escape(band.label)}</text>"
            )
    out.append("</g>")
    out.append(_grid(x0, x1, y_max, y_step, sx, sy))
    for s in chart.series:
        out.append(_series(s, sx, sy))
    for m in chart.markers:
        mx = sx(m.x)
        out.append(
            f'<g class="marker"><line x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}" '
            f'y2="{TOP + plot_h}"/><text x="{mx + 4:.1f}" y="{TOP + 28}">'
            f"{escape(m.label)}</text></g>"
        )
    out.append(_legend(chart.series))
    out.append(
        f'<text class="axis-title" x="{LEFT + plot_w / 2:.0f}" y="{H - 6}" '
        f'text-anchor="middle">{escape(chart.x_label)}</text>'
        f'<text class="axis-title" x="14" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.0f})">{escape(chart.y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _grid(x0: float, x1: float, y_max: float, y_step: float, sx: Scale, sy: Scale) -> str:
    out = ['<g class="grid">']
    for y in ticks(0.0, y_max, step=y_step):
        py = sy(y)
        out.append(
            f'<line x1="{LEFT}" y1="{py:.1f}" x2="{W - RIGHT}" y2="{py:.1f}"/>'
            f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{label(y)}</text>'
        )
    for x in ticks(x0, x1, 8):
        px = sx(x)
        out.append(
            f'<text x="{px:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{label(x)}</text>'
        )
    out.append(
        f'</g><g class="axes"><line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" '
        f'y2="{H - BOTTOM}"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}"/></g>'
    )
    return "".join(out)


def _series(s: Series, sx: Scale, sy: Scale) -> str:
    out = [f'<g class="series {escape(s.css)}"><title>{escape(s.name)}</title>']
    for seg in s.segments:
        coords = [(sx(x), sy(y)) for x, y in seg]
        if s.line and len(coords) > 1:
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            out.append(f'<polyline points="{pts}"/>')
        if s.dots or (s.line and len(coords) == 1):
            out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5"/>' for x, y in coords)
    out.append("</g>")
    return "".join(out)


def _legend(series: Sequence[Series]) -> str:
    out, x = ['<g class="legend">'], float(LEFT)
    for s in series:
        mark = (
            f'<line x1="{x:.1f}" y1="12" x2="{x + 18:.1f}" y2="12"/>'
            if s.line
            else f'<circle cx="{x + 9:.1f}" cy="12" r="3.5"/>'
        )
        out.append(
            f'<g class="series {escape(s.css)}">{mark}</g>'
            f'<text x="{x + 24:.1f}" y="16">{escape(s.name)}</text>'
        )
        x += 24 + len(s.name) * CHAR_W + 18
    out.append("</g>")
    return "".join(out)


def period_bands(timeline: list[dict[str, Any]]) -> list[Band]:
    """Consecutive seconds of the same phase become one band."""
    bands: list[Band] = []
    for i, sec in enumerate(timeline):
        name = str(sec.get("phase", ""))
        if bands and bands[-1].label == name:
            bands[-1] = Band(name, bands[-1].x0, i + 1)
        else:
            bands.append(Band(name, i, i + 1))
    return bands


def per_band(bands: list[Band], levels: dict[str, float]) -> list[list[Point]]:
    return [[(b.x0, levels[b.label]), (b.x1, levels[b.label])] for b in bands if b.label in levels]


def latency_line(timeline: list[dict[str, Any]], key: str) -> list[list[Point]]:
    """Seconds with no answers have no latency: they break the line instead of dropping to 0."""
    segments: list[list[Point]] = [[]]
    for i, sec in enumerate(timeline):
        if sec.get("answered"):
            segments[-1].append((i + 0.5, float(sec["latency_ms"][key])))
        elif segments[-1]:
            segments.append([])
    return [s for s in segments if s]
