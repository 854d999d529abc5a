"""The `ndxsim` command: play scenarios, run the local stack, manage the local broker."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from loadtests import (
    clistack,
)
from loadtests.capacity import Search, search
from loadtests.cli import (
    DEMO,
    DESIGN_OPTION,
    INPUT_ERRORS,
    LOCAL_WORKERS_OPTION,
    WORKERS_OPTION,
    app,
    fail,
    finite,
    serve_driver_metrics,
    wide_console,
    writable_dir,
)
from loadtests.compare import compare
from loadtests.localbroker import BrokerError
from loadtests.report import print_summary
from loadtests.run import run_blocking
from loadtests.runplan import prepare
from loadtests.scenario import MAX_PLANNED_ARRIVALS
from loadtests.serviceproc import StackError
from loadtests.worker import Worker
from services.shared import eventloop
from services.shared.app import EXIT_INPUT_ERROR, setup_logging
from services.shared.auditkey import audit_key
from services.shared.credentials import credentials_of
from services.shared.settings import load_settings
from services.shared.transport import TransportError

__all__ = ["app", "main"]


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    runs_dir: Annotated[
        Path, typer.Option(help="Where run folders go.", callback=writable_dir)
    ] = Path("runs"),
    live: Annotated[bool, typer.Option(help="Show the live terminal view.")] = True,
    design: Annotated[Path | None, DESIGN_OPTION] = None,
    workers: Annotated[int | None, WORKERS_OPTION] = None,
    local_workers: Annotated[int | None, LOCAL_WORKERS_OPTION] = None,
) -> None:
    """Play SCENARIO on a design; exit 0 when every SLO holds, 1 when one fails, 2 for bad input."""
    console = wide_console()
    try:
        settings = load_settings()
        serve_driver_metrics(settings.metrics_host, settings.metrics_port)
        report = run_blocking(
            scenario,
            runs_dir,
            settings,
            console,
            live and console.is_terminal,
            design,
            workers,
            local_workers,
        )
    except INPUT_ERRORS as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except (TransportError, BrokerError, StackError) as exc:
        raise fail(str(exc), 1) from None
    print_summary(report, console)
    raise typer.Exit(0 if report.slo.passed else 1)


@app.command()
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
        report = asyncio.run(search(plan, settings, runs_dir, console, how, design, workers))
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
        "design": "the system's knee",
    }.get(result.knee_of or "", "whose: unknown")
    console.print(f"knee: {whose}")
    console.print(
        f"knee: [bold]{result.knee:.0f}/s[/]; at 80% ({at.rate:.0f}/s): "
        f"{at.throughput_tps:.0f} tx/s, p50 {at.p50_ms:.1f} ms, "
        f"p99 {at.p99_ms:.1f} ms"
    )
    if report.paths is not None:
        console.print(f"report: {report.paths.json_path}")


@app.command("compare")
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
    for line in report.summary:
        console.print(f"• {line}", highlight=False)
    if report.paths is not None:
        console.print(f"report: {report.paths.json_path} and {report.paths.html_path}")
    raise typer.Exit(0 if report.passed else 1)


@app.command()
def worker(
    run_id: Annotated[
        str | None, typer.Option("--run", help="The run to join; default: the latest announced.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Its name in the report.")] = None,
    runs_dir: Annotated[
        Path,
        typer.Option(
            help="Where its part of the transaction record goes when the run's "
            "folder is on another machine."
        ),
    ] = Path("runs"),
) -> None:
    """Join a run announced on the cluster (KAFKA_BOOTSTRAP_SERVERS, NDX_CREDENTIALS when
    secured) and play the shares Kafka's group protocol hands this worker."""
    logging.getLogger("ndx.worker").setLevel(logging.INFO)  # what it plays, in its log
    try:
        settings = load_settings()
        if not settings.kafka_bootstrap_servers:
            raise fail(
                "KAFKA_BOOTSTRAP_SERVERS: a worker needs the cluster's address", EXIT_INPUT_ERROR
            )
        key = audit_key(settings) if settings.transaction_record else None
        me = Worker(
            settings.kafka_bootstrap_servers,
            credentials_of(settings),
            name or f"{socket.gethostname()}-{os.getpid()}",
            settings.connect_timeout_s,
            key,
            runs_dir,
        )
        code = eventloop.run(me.run(run_id))
    except INPUT_ERRORS as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except TransportError as exc:
        raise fail(str(exc), 1) from None
    raise typer.Exit(code)


@app.command()
def demo(
    runs_dir: Annotated[Path, typer.Option(callback=writable_dir)] = Path("runs"),
) -> None:
    """Play the demo scenario against a local broker."""
    run(DEMO, runs_dir, live=True)


clistack.register(app)


def main() -> None:
    setup_logging("ndxsim", "WARNING")
    app()


if __name__ == "__main__":
    main()
