"""The `ndxsim` command: play scenarios, run the local stack, manage the local broker."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from loadtests.cli import (
    DEMO,
    DESIGN_OPTION,
    INPUT_ERRORS,
    LOCAL_WORKERS_OPTION,
    WORKERS_OPTION,
    app,
    fail,
    serve_driver_metrics,
    wide_console,
    writable_dir,
)
from loadtests.cli import stack as clistack
from loadtests.cli import study as clistudy
from loadtests.cluster import BrokerError
from loadtests.engine import play_run, read_inputs
from loadtests.report import print_summary
from loadtests.stack import StackError
from loadtests.workers import Worker
from services.config import load_settings
from services.kafka import TransportError
from services.process import EXIT_INPUT_ERROR, eventloop, setup_logging
from services.security import credentials_of
from services.security.auditkey import audit_key

__all__ = ["app", "main"]


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
        inputs = read_inputs(scenario, design, settings)
        report = asyncio.run(
            play_run(
                inputs.scenario,
                inputs.design,
                settings=settings,
                console=console,
                runs_dir=runs_dir,
                files=inputs.files,
                live=live and console.is_terminal,
                workers=workers,
                local_workers=local_workers,
            )
        )
    except INPUT_ERRORS as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except (TransportError, BrokerError, StackError) as exc:
        raise fail(str(exc), 1) from None
    print_summary(report, console)
    raise typer.Exit(0 if report.slo.passed else 1)


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


def demo(
    runs_dir: Annotated[Path, typer.Option(callback=writable_dir)] = Path("runs"),
) -> None:
    """Play the demo scenario against a local broker."""
    run(DEMO, runs_dir, live=True)


# in the order `ndxsim --help` lists them
app.command()(run)
clistudy.register(app)
app.command()(worker)
app.command()(demo)
clistack.register(app)


def main() -> None:
    setup_logging("ndxsim", "WARNING")
    app()


if __name__ == "__main__":
    main()
