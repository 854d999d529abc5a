"""The `ndxsim` command: play scenarios, run the local stack, manage the local broker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadtests import upstack
from loadtests.localbroker import BrokerError, ensure_jars
from loadtests.report import print_summary
from loadtests.run import run_blocking
from loadtests.scenario import ScenarioError
from loadtests.stack import StackError
from loadtests.topology import TopologyError
from services.shared.app import EXIT_INPUT_ERROR, setup_logging
from services.shared.settings import REPO_ROOT, SettingsError, load_settings
from services.shared.transport import TransportError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Simulate Project 06 data-sharing traffic over Apache Kafka.",
)
err = Console(stderr=True)
DEMO = REPO_ROOT / "loadtests" / "scenarios" / "demo.yaml"
DEMO_TOPOLOGY = REPO_ROOT / "loadtests" / "topologies" / "demo.yaml"


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]ndxsim: error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    runs_dir: Annotated[Path, typer.Option(help="Where run folders go.")] = Path("runs"),
    live: Annotated[bool, typer.Option(help="Show the live terminal view.")] = True,
) -> None:
    """Play SCENARIO; exit 0 when every SLO holds, 1 when one fails, 2 for bad input."""
    console = Console()
    try:
        settings = load_settings()
        report = run_blocking(scenario, runs_dir, settings, console, live and console.is_terminal)
    except (ScenarioError, TopologyError, SettingsError) as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except (TransportError, BrokerError, StackError) as exc:
        raise fail(str(exc), 1) from None
    print_summary(report, console)
    raise typer.Exit(0 if report["slo"]["passed"] else 1)


@app.command()
def demo(runs_dir: Annotated[Path, typer.Option()] = Path("runs")) -> None:
    """Play the demo scenario against a local broker."""
    run(DEMO, runs_dir, live=True)


@app.command()
def up() -> None:
    """Start broker, registry, ministry and province in the background."""
    try:
        urls = upstack.up(load_settings().kafka_bootstrap_servers, DEMO_TOPOLOGY)
    except upstack.AlreadyUp as exc:
        Console().print(str(exc))
        return
    except SettingsError as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except StackError as exc:
        upstack.down()
        raise fail(str(exc), 1) from None
    except (TransportError, BrokerError) as exc:
        upstack.down()
        raise fail(str(exc), 1) from None
    Console().print("stack is up:\n  " + "\n  ".join(urls))


@app.command()
def down() -> None:
    """Stop everything `up` started."""
    stopped = upstack.down()
    Console().print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


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
