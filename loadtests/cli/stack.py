"""`ndxsim up`, `down`, `status`, `acls` and `fetch`: the local stack and its broker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadtests.cli.acltable import acl_view
from loadtests.cli.common import DEMO_TOPOLOGY, fail, wide_console
from loadtests.cluster import BrokerError, ensure_jars
from loadtests.stack import StackError, StateError
from loadtests.stack import status as stackstatus
from loadtests.stack import up as upstack
from services.config import SettingsError, load_settings
from services.kafka import TransportError
from services.process import EXIT_INPUT_ERROR
from services.security import acl_table
from services.world import TopologyError, load_topology


def up() -> None:
    """Start the supervised stack (broker, services, Prometheus), or whatever of it is missing.

    A supervisor restarts a component that dies, with backoff; `up` says what it started.
    """
    console = Console()
    try:
        changes = upstack.up(load_settings().kafka_bootstrap_servers, DEMO_TOPOLOGY)
    except SettingsError as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    except (StackError, StateError, TransportError, BrokerError) as exc:
        hint = "`ndxsim status` shows each component, `ndxsim down` stops them"
        raise fail(f"{exc}\n{hint}", 1) from None
    console.print("\n".join(changes.lines()), highlight=False, soft_wrap=True)


def down() -> None:
    """Stop the supervisor, then everything it started; never a process the stack did not start."""
    changes = upstack.down()
    lines = changes.lines() if changes.stopped or changes.stale else ["nothing was running"]
    Console().print("\n".join(lines), highlight=False, soft_wrap=True)


def status() -> None:
    """Show each component: state, pid, ports, restarts, uptime. Exit 0 when all are up, else 1."""
    try:
        found = stackstatus.rows()
    except StateError as exc:
        raise fail(str(exc), 1) from None
    if not found:
        Console().print("the local stack is not running (`ndxsim up` starts it)")
        raise typer.Exit(1)
    wide_console().print(stackstatus.table(found))
    raise typer.Exit(0 if all(r.up for r in found) else 1)


def acls(
    topology: Annotated[Path, typer.Option(help="Topology YAML file.")] = DEMO_TOPOLOGY,
) -> None:
    """Print the ACL table a secured stack on TOPOLOGY applies (deny by default)."""
    try:
        world = load_topology(topology)
    except TopologyError as exc:
        raise fail(str(exc), EXIT_INPUT_ERROR) from None
    wide_console().print(acl_view(acl_table(world), f"ACLs for topology {world.name} ({topology})"))


def fetch() -> None:
    """Fetch the pinned Apache Kafka jars from Maven Central into .cache/kafka."""
    try:
        Console().print(f"kafka jars in {ensure_jars()}")
    except BrokerError as exc:
        raise fail(str(exc), 1) from None


def register(app: typer.Typer) -> None:
    """Add the stack's commands after the scenario commands, in the order `--help` lists them."""
    for command in (up, down, status, acls, fetch):
        app.command()(command)
