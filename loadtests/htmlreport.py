"""Renders a run report as one self-contained HTML page that opens offline in any browser."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any, TypeGuard

from loadtests import svgchart as svg

CSS = """
body{font:14px/1.45 system-ui,sans-serif;color:#222;max-width:1180px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px}
.verdict{padding:10px 14px;border-radius:6px;font-weight:600;margin:12px 0}
.verdict.pass{background:#e3f4e6;color:#17632a}.verdict.fail{background:#fbe3e3;color:#8a1c1c}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;color:#444}
dl.meta dt{font-weight:600}dl.meta dd{margin:0}.wide{overflow-x:auto}
table{font-size:13px;border-collapse:collapse;font-variant-numeric:tabular-nums;margin:4px 0}
th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#f4f5f7;font-weight:600}
tr.total td{font-weight:600;border-top:2px solid #bbb}.bad,tr.fail td{color:#b3261e}
ul{margin:4px 0;padding-left:22px}
"""
PERIOD_HEAD = (
    "period", "target/s", "duration s", "sent", "answered", "timed out", "dead-lettered",
    "lost", "incorrect", "late sends", "tx/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
)  # fmt: skip
PERIOD_KEYS = (
    "target_rate_per_s", "duration_s", "sent", "answered", "timed_out", "dead_lettered",
    "lost", "incorrect", "late_sends", "throughput_tps",
)  # fmt: skip


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def is_num(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def num(value: object) -> str:
    """Counts with separators, rates to 0.1, shares to 3 digits; anything else escaped."""
    if not is_num(value):
        return "—" if value is None else esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def pct(value: object, sign: str = "") -> str:
    return f"{value * 100:{sign}.1f}%" if is_num(value) else num(value)


def gap(measured: object, target: object) -> str:
    if is_num(measured) and is_num(target):
        return f"{(measured - target) * 100:+.1f} pts"
    return "—"


def table(table_id: str, head: tuple[str, ...] | list[str], rows: list[str]) -> str:
    cols = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f'<div class="wide"><table id="{table_id}"><tr>{cols}</tr>{"".join(rows)}</table></div>'


def row(cells: list[str], css: str = "") -> str:
    return f'<tr class="{css}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def charts(report: dict[str, Any]) -> str:
    timeline = report.get("timeline") or []
    bands, span = svg.period_bands(timeline), (0.0, float(max(len(timeline), 1)))
    targets = {str(p["name"]): float(p["target_rate_per_s"]) for p in report["phases"]}
    answered = [(i + 0.5, float(s.get("answered", 0))) for i, s in enumerate(timeline)]
    rate = [svg.Series("answered/s", "s-answered", [answered])]
    rate.append(svg.Series("target rate", "s-target", svg.per_band(bands, targets)))
    latency = [svg.Series(k, f"s-{k}", svg.latency_line(timeline, k)) for k in ("p50", "p99")]
    slo_p99 = {
        str(c["name"]).removesuffix(".p99_ms"): float(c["target"])
        for c in report.get("slo", {}).get("checks", [])
        if str(c.get("name")).endswith(".p99_ms")
    }
    if slo_p99:
        latency.append(svg.Series("p99 SLO", "s-slo", svg.per_band(bands, slo_p99)))
    x_title = "seconds into the run"
    return "<h2>Throughput and latency over time</h2>" + "".join(
        svg.render_chart(svg.Chart(svg_id, title, x_title, y_title, series, bands, x_range=span))
        for svg_id, title, y_title, series in (
            ("chart-throughput", "Throughput (answered per second)", "answered / s", rate),
            ("chart-latency", "Latency p50 and p99 per second", "ms", latency),
        )
    )


def periods(report: dict[str, Any]) -> str:
    rows = []
    for p, css in [*((p, "period") for p in report["phases"]), (report["totals"], "total")]:
        cells = [num(p.get(k)) for k in PERIOD_KEYS]
        for i, k in ((6, "lost"), (7, "incorrect")):
            cells[i] = f'<span class="bad">{cells[i]}</span>' if p.get(k) else cells[i]
        lat = p.get("latency_ms", {})
        cells += [num(lat.get(k)) for k in ("p50", "p95", "p99", "max")]
        rows.append(row([esc(p.get("name", "total")), *cells], css))
    outcomes = sorted({k for p in report["phases"] for k in p.get("outcomes", {})})
    flows = sorted({k for p in report["phases"] for k in p.get("flows", {})})
    mix = [
        row([esc(p["name"]), *(num(p.get("outcomes", {}).get(k, 0)) for k in outcomes),
             *(num(p.get("flows", {}).get(k, 0)) for k in flows)], "mix")
        for p in report["phases"]
    ]  # fmt: skip
    head = ["period", *outcomes, *(f"flow: {f}" for f in flows)]
    return (
        f"<h2>Periods</h2>{table('periods', PERIOD_HEAD, rows)}"
        f"<h2>Outcomes and flows per period</h2>{table('outcomes', head, mix)}"
    )


def growth(report: dict[str, Any]) -> str:
    out, g = "", report.get("growth")
    if isinstance(g, dict):
        head = ["target", "measured (Prometheus)", "driver's own count", "measured − target"]
        cells = [pct(g.get(k), "+") for k in ("target", "measured", "driver")]
        cells.append(gap(g.get("measured"), g.get("target")))
        out += f"<h2>Growth</h2>{table('growth', head, [row(cells, 'growth')])}"
    shares = [(p["name"], p["online_share"]) for p in report["phases"] if p.get("online_share")]
    if shares:
        rows = [
            row([esc(n), pct(s.get("target")), pct(s.get("measured")),
                 gap(s.get("measured"), s.get("target"))], "share")
            for n, s in shares
        ]  # fmt: skip
        head = ["period", "target", "measured (Prometheus)", "measured − target"]
        out += f"<h2>Online share of dossiers</h2>{table('online-share', head, rows)}"
    return out


def slo_table(report: dict[str, Any]) -> str:
    rows = [
        row([esc(c.get("name")), num(c.get("target")), num(c.get("measured")),
             "pass" if c.get("passed") else "FAIL"], "pass" if c.get("passed") else "fail")
        for c in report.get("slo", {}).get("checks", [])
    ]  # fmt: skip
    return f"<h2>SLO verdicts</h2>{table('slo', ['check', 'target', 'measured', 'verdict'], rows)}"


def capacity(report: dict[str, Any]) -> str:
    """The latency curve of a capacity search, when the report has one."""
    cap = report.get("capacity")
    if not cap:
        return ""
    steps = cap.get("steps", []) if isinstance(cap, dict) else cap
    knee = cap.get("knee") if isinstance(cap, dict) else report.get("knee")
    knee = knee.get("rate") if isinstance(knee, dict) else knee
    steps = sorted(steps, key=lambda s: float(s["rate"]))
    curve = [(float(s["rate"]), float(s["p99_ms"])) for s in steps]
    series = [svg.Series("p99 at each rate", "s-p99", [curve], dots=True)]
    failed = [(float(s["rate"]), float(s["p99_ms"])) for s in steps if not s.get("passed")]
    if failed:
        series.append(svg.Series("SLOs fail", "s-fail", [failed], line=False, dots=True))
    markers = [svg.Marker(f"knee {knee:g}/s", float(knee))] if is_num(knee) else []
    hi = max([r for r, _ in curve] + [float(knee) if is_num(knee) else 0.0, 1.0])
    chart = svg.Chart(
        "chart-capacity", "p99 latency against offered rate", "offered rate (requests / s)",
        "p99 ms", series, markers=markers, x_range=(0.0, hi * 1.05),
    )  # fmt: skip
    rows = [
        row([num(s["rate"]), num(s.get("throughput_tps")), num(s.get("p99_ms")),
             "hold" if s.get("passed") else "FAIL"], "pass" if s.get("passed") else "fail")
        for s in steps
    ]  # fmt: skip
    return (
        f'<h2>Capacity</h2><p id="knee">Knee: <b>{num(knee)}</b> requests/s, the highest '
        f"offered rate at which the SLOs hold.</p>{svg.render_chart(chart)}"
        f"{table('capacity', ['rate/s', 'tx/s', 'p99 ms', 'SLOs'], rows)}"
    )


def header(report: dict[str, Any]) -> str:
    slo = report.get("slo", {})
    if slo.get("passed"):
        banner = f"PASS · all {len(slo.get('checks', []))} SLO checks hold"
    else:
        banner = "FAIL · failed SLOs: " + (", ".join(map(str, slo.get("failed", []))) or "?")
    meta = {
        "scenario": report.get("scenario"), "scenario file": report.get("scenario_file"),
        "topology": report.get("topology"), "started": report.get("started_at"),
        "elapsed": f"{report.get('elapsed_s')} s", "broker": report.get("bootstrap"),
        "late answers": report.get("late_answers"),
    }  # fmt: skip
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta.items())
    verdict = "pass" if slo.get("passed") else "fail"
    return (
        f"<h1>ndxsim run {esc(report.get('run_id'))}</h1>"
        f'<div id="verdict" class="verdict {verdict}">{esc(banner)}</div>'
        f'<dl class="meta">{items}</dl>'
    )


def notes(report: dict[str, Any]) -> str:
    out = ""
    for key, title in (("warnings", "Warnings"), ("assumptions", "Assumptions")):
        items = report.get(key) or []
        lis = "".join(f"<li>{esc(i)}</li>" for i in items) or "<li>none</li>"
        out += f'<h2>{title}</h2><ul id="{key}">{lis}</ul>'
    return out


def render_html(report: dict[str, Any]) -> str:
    """The whole page: inline CSS and SVG only, every report string escaped."""
    body = "".join(
        part(report) for part in (header, charts, periods, growth, slo_table, capacity, notes)
    )
    title = f"ndxsim {esc(report.get('scenario'))} · {esc(report.get('run_id'))}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{CSS}{svg.CHART_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def write_html(run_dir: Path, report: dict[str, Any]) -> Path:
    """Writes report.html beside report.json, atomically like the JSON."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(path)
    return path
