"""`ndxsim compare`: the same workload (same seed, same arrivals) on each design, side by side."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from loadtests.engine.capacity import Search, search
from loadtests.engine.resolve import RunFiles
from loadtests.engine.run import play_run
from loadtests.pages import summarize, write_compare_html
from loadtests.report import CompareReport, DesignResult, Paths
from loadtests.scenario import prepare
from services.config import Design, DesignError, Settings, load_design

__all__ = ["compare"]


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
    )
    report.paths = Paths(json_path=str(out / "compare.json"), html_path=str(out / "compare.html"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(
        json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    write_compare_html(out, report)
    return report
