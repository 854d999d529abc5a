"""The `ndxsim` command: play scenarios, run the local stack, manage the local broker."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadtests import stackstatus, upstack
from loadtests.acltable import acl_view
from loadtests.capacity import Search, search
from loadtests.compare import compare
from loadtests.localbroker import BrokerError, ensure_jars
from loadtests.report import print_summary
from loadtests.run import prepare, run_blocking
from loadtests.scenario import MAX_PLANNED_ARRIVALS
from loadtests.serviceproc import StackError
from loadtests.stackstate import StateError
from loadtests.worker import Worker
from services.shared import eventloop, metrics
from services.shared.access import acl_table
from services.shared.app import EXIT_INPUT_ERROR, setup_logging
from services.shared.auditkey import audit_key
from services.shared.credentials import CredentialsError, credentials_of
from services.shared.settings import REPO_ROOT, SettingsError, load_settings
from services.shared.topics import MAX_SHARES
from services.shared.topology import TopologyError, load_topology
from services.shared.transport import TransportError
from services.shared.yamlfile import InputFileError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Simulate Project 06 data-sharing traffic over Apache Kafka.",
)
err = Console(stderr=True)
DEMO = REPO_ROOT / "loadtests" / "scenarios" / "demo.yaml"
DRIVER_METRICS_PORT = 9104
DEMO_TOPOLOGY = REPO_ROOT / "loadtests" / "topologies" / "demo.yaml"
WORKERS_OPTION = typer.Option(
    "--workers",
    min=1,
    max=MAX_SHARES,
    help="Worker processes playing the agencies (default: one per CPU).",
)
LOCAL_WORKERS_OPTION = typer.Option(
    "--local-workers",
    min=0,
    max=MAX_SHARES,
    help="How many of the workers start on this machine (default: all); the others are "
    "`ndxsim worker` processes joining from anywhere.",
)
DESIGN_OPTION = typer.Option(
    "--design", help="Design file (deploy/designs/*.yaml); the baseline design when absent."
)
INPUT_ERRORS = (InputFileError, SettingsError, CredentialsError)


def _console() -> Console:
    """Wide enough for the summary table when the output is a file or a pipe."""
    return Console() if sys.stdout.isatty() else Console(width=120)


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]ndxsim: error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def finite(value: float) -> float:
    """typer's ranges let nan and inf through; a number of this CLI is an ordinary one."""
    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


def writable_dir(path: Path) -> Path:
    """Refuse a runs dir that cannot be written before anything starts, not after the run."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise typer.BadParameter(f"{path}: {exc.strerror or exc}") from None
    return path


def serve_driver_metrics(host: str, port: int) -> None:
    """The driver's own /metrics (requester side) for Prometheus; skipped if the port is taken."""
    port = port or DRIVER_METRICS_PORT
    try:
        metrics.serve(host, port)
    except SettingsError as exc:
        err.print(f"ndxsim: driver metrics not served: {exc}")


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
    console = _console()
    try:
        settings = load_settings()
        serve_driver_metrics(settings.metrics_host, settings.metrics_port)
        report = run_blocking(scenario, runs_dir, settings, console, live and console.is_terminal,
                              design, workers, local_workers)  # fmt: skip
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
        raise fail(f"--max-rate x --step-seconds plans {max_rate * step_seconds:.3g} arrivals in "
                   f"a step, more than the {MAX_PLANNED_ARRIVALS:,} a period may hold",
                   EXIT_INPUT_ERROR)  # fmt: skip
    console = _console()
    how = Search(start_rate, factor, step_seconds, max_rate, refine)
    try:
        settings = load_settings()
        serve_driver_metrics(settings.metrics_host, settings.metrics_port)
        plan = prepare(scenario)
        audit_key(settings)  # generated or refused now, before anything starts
        console.print(f"[bold]ndxsim capacity[/] {plan.scenario.name}: ramping from "
                      f"{start_rate:.0f}/s by x{factor}")  # fmt: skip
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
    whose = {"generator": "the load generator's knee, not the system's: add --workers or machines",
             "simulation": "a mimic service's knee (an artifact), not the design's",
             "design": "the system's knee"}.get(result.knee_of or "", "whose: unknown")  # fmt: skip
    console.print(f"knee: {whose}")
    console.print(f"knee: [bold]{result.knee:.0f}/s[/]; at 80% ({at.rate:.0f}/s): "
                  f"{at.throughput_tps:.0f} tx/s, p50 {at.p50_ms:.1f} ms, "
                  f"p99 {at.p99_ms:.1f} ms")  # fmt: skip
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
    console = _console()
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
            raise fail("KAFKA_BOOTSTRAP_SERVERS: a worker needs the cluster's address",
                       EXIT_INPUT_ERROR)  # fmt: skip
        key = audit_key(settings) if settings.transaction_record else None
        me = Worker(settings.kafka_bootstrap_servers, credentials_of(settings),
                    name or f"{socket.gethostname()}-{os.getpid()}",
                    settings.connect_timeout_s, key, runs_dir)  # fmt: skip
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


@app.command()
def up() -> None:
    """Start the supervised stack (broker, services, Prometheus), or whatever of it is missing.

    A supervisor restarts a component that dies, with backoff; `up` says what it started.
    """
    console = Console()
    try:
        report = upstack.up(load_settings().kafka_bootstrap_servers, DEMO_TOPOLOGY)
    except SettingsError as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except (StackError, StateError, TransportError, BrokerError) as exc:
        hint = "`ndxsim status` shows each component, `ndxsim down` stops them"
        raise fail(f"{exc}\n{hint}", 1) from None
    console.print("\n".join(report.lines()), highlight=False, soft_wrap=True)


@app.command()
def down() -> None:
    """Stop the supervisor, then everything it started; never a process the stack did not start."""
    report = upstack.down()
    lines = report.lines() if report.stopped or report.stale else ["nothing was running"]
    Console().print("\n".join(lines), highlight=False, soft_wrap=True)


@app.command()
def status() -> None:
    """Show each component: state, pid, ports, restarts, uptime. Exit 0 when all are up, else 1."""
    try:
        found = stackstatus.rows()
    except StateError as exc:
        raise fail(str(exc), 1) from None
    if not found:
        Console().print("the local stack is not running (`ndxsim up` starts it)")
        raise typer.Exit(1)
    _console().print(stackstatus.table(found))
    raise typer.Exit(0 if all(r.up for r in found) else 1)


@app.command()
def acls(
    topology: Annotated[Path, typer.Option(help="Topology YAML file.")] = DEMO_TOPOLOGY,
) -> None:
    """Print the ACL table a secured stack on TOPOLOGY applies (deny by default)."""
    try:
        world = load_topology(topology)
    except TopologyError as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    _console().print(acl_view(acl_table(world), f"ACLs for topology {world.name} ({topology})"))


@app.command()
def fetch() -> None:
    """Fetch the pinned Apache Kafka jars from Maven Central into .cache/kafka."""
    try:
        Console().print(f"kafka jars in {ensure_jars()}")
    except BrokerError as exc:
        raise fail(str(exc), 1) from None


def main() -> None:
    setup_logging("ndxsim", "WARNING")
    app()


if __name__ == "__main__":
    main()
