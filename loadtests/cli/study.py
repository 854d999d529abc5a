"""`ndxsim capacity` and `compare`: studies of a design made of several runs, apart from `run`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from loadtests.cli.common import (
    DESIGN_OPTION,
    INPUT_ERRORS,
    WORKERS_OPTION,
    fail,
    finite,
    serve_driver_metrics,
    wide_console,
    writable_dir,
)
from loadtests.cluster import BrokerError
from loadtests.engine import Search, search, with_design
from loadtests.engine.compare import compare, print_compare
from loadtests.scenario import MAX_PLANNED_ARRIVALS, prepare
from loadtests.stack import StackError
from services.config import load_settings
from services.kafka import TransportError
from services.process import EXIT_INPUT_ERROR
from services.security.auditkey import audit_key

__all__ = ["capacity", "compare_designs", "register"]


def capacity(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (topology, mix, SLOs).")],
    runs_dir: Annotated[
        Path, typer.Option(help="Where run folders go.", callback=writable_dir)
    ] = Path("runs"),
    start_rate: Annotated[float, typer.Option(min=1, callback=finite)] = 100.0,
    factor: Annotated[float, typer.Option(min=1.05, max=10, callback=finite)] = 1.5,
    step_seconds: Annotated[float, typer.Option(min=2, max=3600, callback=finite)] = 15.0,
    max_rate: Annotated[float, typer.Option(min=1, callback=finite)] = 20_000.0,
    refine: Annotated[int, typer.Option(min=0, max=8)] = 3,
    design: Annotated[Path | None, DESIGN_OPTION] = None,
    workers: Annotated[int | None, WORKERS_OPTION] = None,
) -> None:
    """Find the highest rate at which SCENARIO's SLOs hold (the knee), then measure 80% of it."""
    if max_rate * step_seconds > MAX_PLANNED_ARRIVALS:
        raise fail(
            f"--max-rate x --step-seconds plans {max_rate * step_seconds:.3g} arrivals in "
            f"a step, more than the {MAX_PLANNED_ARRIVALS:,} a period may hold",
            EXIT_INPUT_ERROR,
        )
    console = wide_console()
    how = Search(start_rate, factor, step_seconds, max_rate, refine)
    try:
        settings = load_settings()
        serve_driver_metrics(settings.metrics_host, settings.metrics_port)
        plan = prepare(scenario)
        audit_key(settings)  # generated or refused now, before anything starts
        console.print(
            f"[bold]ndxsim capacity[/] {plan.scenario.name}: ramping from "
            f"{start_rate:.0f}/s by x{factor}"
        )
        inputs = with_design(plan.scenario, scenario, design)
        report = asyncio.run(
            search(
                inputs.scenario,
                inputs.design,
                settings=settings,
                runs_dir=runs_dir,
                console=console,
                how=how,
                files=inputs.files,
                workers=workers,
            )
        )
    except INPUT_ERRORS as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except (TransportError, BrokerError, StackError) as exc:
        raise fail(str(exc), 1) from None
    result = report.capacity
    if result is None or result.knee is None or result.at_80_percent is None:
        console.print(f"[red]no knee: the SLOs fail already at {start_rate:.0f}/s[/]")
        raise typer.Exit(1)
    at = result.at_80_percent
    whose = {
        "generator": "the load generator's knee, not the system's: add --workers or machines",
        "simulation": "a mimic service's knee (an artifact), not the design's",
        "design": "the design's knee",
    }.get(result.knee_of or "", "whose: unknown")
    console.print(f"knee: {whose}")
    named = [
        s
        for s in result.steps
        if not s.passed and s.limited_reason and "capacity" in s.limited_reason
    ]
    if result.knee_of == "design" and named:
        console.print(f"knee: {escape(named[0].limited_reason or '')}")
    console.print(
        f"knee: [bold]{result.knee:.0f}/s[/]; at 80% ({at.rate:.0f}/s): "
        f"{at.throughput_tps:.0f} tx/s, p50 {at.p50_ms:.1f} ms, "
        f"p99 {at.p99_ms:.1f} ms"
    )
    if report.paths is not None:
        console.print(f"report: {report.paths.json_path}")


def compare_designs(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    design: Annotated[
        list[Path], typer.Option("--design", help="A design file; give two or more.")
    ],
    runs_dir: Annotated[
        Path, typer.Option(help="Where run folders go.", callback=writable_dir)
    ] = Path("runs"),
    with_capacity: Annotated[
        bool, typer.Option("--capacity", help="Also search each design's knee.")
    ] = False,
    step_seconds: Annotated[float, typer.Option(min=2, max=3600, callback=finite)] = 15.0,
) -> None:
    """Play SCENARIO on each DESIGN with the same arrivals; exit 0 when every design holds it,
    1 when one fails its SLOs, 2 for bad input."""
    console = wide_console()
    how = Search(step_s=step_seconds) if with_capacity else None
    try:
        settings = load_settings()
        serve_driver_metrics(settings.metrics_host, settings.metrics_port)
        audit_key(settings)
        report = asyncio.run(compare(scenario, design, runs_dir, settings, console, how))
    except INPUT_ERRORS as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except (TransportError, BrokerError, StackError) as exc:
        raise fail(str(exc), 1) from None
    print_compare(report, console)
    raise typer.Exit(0 if report.passed else 1)


def register(app: typer.Typer) -> None:
    """Add the study commands; `ndxsim --help` lists them in the order they are added."""
    app.command()(capacity)
    app.command("compare")(compare_designs)
