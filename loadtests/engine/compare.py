"""`ndxsim compare`: the same workload (same seed, same arrivals) on each design, side by side."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loadtests.engine.capacity import Search, search
from loadtests.engine.resolve import RunFiles
from loadtests.engine.run import play_run
from loadtests.pages import bulk_verdict, summarize, write_compare_html
from loadtests.report import CompareReport, DesignResult, Paths
from loadtests.scenario import prepare
from services.config import Design, DesignError, Settings, load_design

__all__ = ["compare", "print_compare"]


def _read_designs(paths: list[Path]) -> list[Design]:
    """Every design is read before anything starts; names tell the results apart."""
    if len(paths) < 2:
        raise DesignError("ndxsim compare needs at least two --design files")
    designs = [load_design(p) for p in paths]
    names = [d.name for d in designs]
    if len(set(names)) != len(names):
        raise DesignError(f"designs must have distinct names, got {names}")
    return designs


async def compare(
    scenario_path: Path,
    design_paths: list[Path],
    runs_dir: Path,
    settings: Settings,
    console: Console,
    how: Search | None = None,
) -> CompareReport:
    """Read the scenario and design files, then play the scenario on each design in turn, each
    on its own fresh platform."""
    plan = prepare(scenario_path)
    designs = _read_designs(design_paths)
    started = datetime.now(UTC)
    compare_id = f"{started:%Y%m%d-%H%M%S}-{plan.scenario.name}-compare"
    out = runs_dir / compare_id
    results: list[DesignResult] = []
    for design, path in zip(designs, design_paths, strict=True):
        name, files = design.name, RunFiles(scenario_path, path)
        console.print(f"[bold]design {name}[/]: playing {plan.scenario.name}")
        run = await play_run(
            plan.scenario,
            design,
            settings=settings,
            console=console,
            runs_dir=out,
            files=files,
            run_id=f"{compare_id}-{name}",
        )
        knee = None
        if how is not None:
            console.print(f"[bold]design {name}[/]: searching its knee")
            found = await search(
                plan.scenario,
                design,
                settings=settings,
                runs_dir=out,
                console=console,
                how=how,
                files=files,
            )
            knee = found.capacity
        results.append(DesignResult(design=name, run=run, capacity=knee))
    report = CompareReport(
        compare_id=compare_id,
        scenario=plan.scenario.name,
        scenario_file=str(scenario_path),
        seed=results[0].run.seed or 0,
        started_at=started,
        results=results,
        summary=summarize(results),
        bulk=[side for r in results if (side := r.bulk_side()) is not None],
        bulk_summary=bulk_verdict(results),
    )
    report.paths = Paths(json_path=str(out / "compare.json"), html_path=str(out / "compare.html"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(
        json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    write_compare_html(out, report)
    return report


def _figure(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:,.1f}{unit}"


def bulk_table(report: CompareReport) -> Table:
    """Each design's bulk job in a row, beside the counter's p50/p99 in every period."""
    periods = list(dict.fromkeys(p for s in report.bulk for p in s.counter_ms))
    held = {j.period for s in report.bulk for j in s.jobs}
    flows = sorted({s.counter_flow for s in report.bulk})
    table = Table(title=f"bulk sharing on {len(report.bulk)} designs", show_lines=False)
    table.add_column("design")
    table.add_column("lane · chunk")
    for name in periods:
        mark = " (job)" if name in held else ""
        table.add_column(f"{name}{mark} {'/'.join(flows)} p50/p99 ms", justify="right")
    for col in ("job", "done s / deadline", "items/s", "lost", "incorrect"):
        table.add_column(col, justify="right" if col != "job" else "left")
    table.add_column("throttle peak/mean ms")
    table.add_column("registry by lane: bulk / interactive")
    for side in report.bulk:
        latency = [
            f"{lat.p50:,.1f} / {lat.p99:,.1f}" if (lat := side.counter_ms.get(n)) else "—"
            for n in periods
        ]
        throttle = "; ".join(
            f"{t.principal} {t.peak_ms:,.0f}/{t.mean_ms:,.0f}" for t in side.throttle
        )
        lanes = "; ".join(f"{x.lane} {x.bulk:,.0f}/{x.interactive:,.0f}" for x in side.lanes)
        for job in side.jobs:
            met = "met" if job.met_deadline else "[red]MISSED[/]"
            table.add_row(
                escape(side.design),
                f"{escape(side.lane)} · {side.chunk:,}",
                *latency,
                escape(job.name),
                f"{_figure(job.completed_s)} / {job.deadline_s:,.0f} {met}",
                _figure(job.items_per_s),
                f"{job.lost:,}",
                f"{job.incorrect:,}",
                escape(throttle) or "none",
                escape(lanes) or "—",
            )
    return table


def print_compare(report: CompareReport, console: Console) -> None:
    """The comparison in the terminal: bulk table, plain words, bulk verdict, the pages."""
    if report.bulk:
        console.print(bulk_table(report))
    for line in report.summary:
        console.print(f"• {escape(line)}", highlight=False)
    if report.bulk_summary:
        console.print(f"• [bold]{escape(report.bulk_summary)}[/]", highlight=False)
    if report.paths is not None:
        console.print(f"report: {report.paths.json_path} and {report.paths.html_path}")
