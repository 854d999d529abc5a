"""What every `ndxsim` command shares: the app, its options and how it fails."""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console

from loadtests.stack import MAX_SHARES
from services.config import REPO_ROOT, InputFileError, SettingsError
from services.process import metrics
from services.security import CredentialsError

__all__ = [
    "DEMO",
    "DEMO_TOPOLOGY",
    "DESIGN_OPTION",
    "INPUT_ERRORS",
    "LOCAL_WORKERS_OPTION",
    "WORKERS_OPTION",
    "app",
    "err",
    "fail",
    "finite",
    "serve_driver_metrics",
    "wide_console",
    "writable_dir",
]

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


def wide_console() -> Console:
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
