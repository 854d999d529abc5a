"""What an earlier supervisor left behind: its processes adopted by identity, its deaths counted."""

from __future__ import annotations

import logging

import psutil

from loadtests.cluster.localbroker import running_process
from loadtests.cluster.procs import identify, record_of
from loadtests.stack.components import BROKER_DATA, Component
from loadtests.stack.state import ComponentState

__all__ = ["UNWATCHED_EXIT", "adoptable", "carried_row"]

log = logging.getLogger("ndx.supervise")
UNWATCHED_EXIT = "ended while no supervisor ran (exit status unknown)"


def adoptable(c: Component, before: ComponentState | None) -> psutil.Process | None:
    """A component still running from an earlier supervisor, identity-checked."""
    proc = identify(before.process if before else None)
    if before is not None and before.process is not None and proc is None:
        log.warning(
            "%s: stale entry (pid %d is not the process recorded); not signalled",
            c.name,
            before.process.pid,
        )
    if proc is None and c.probe == "broker":
        proc = running_process(BROKER_DATA)  # the broker's own pid file, same identity rule
    if proc is not None:
        log.info("%s: adopted pid %d", c.name, proc.pid)
    return proc


def carried_row(
    c: Component, before: ComponentState | None, adopted: psutil.Process | None
) -> tuple[ComponentState, bool]:
    """The component's state row, its restarts carried over; True when it died unwatched."""
    row = ComponentState(
        name=c.name,
        probe=c.probe,
        probe_port=c.probe_port,
        ports=c.ports,
        urls=c.urls,
        process=record_of(adopted.pid) if adopted else None,
    )
    died = False
    if before is not None:
        row.restarts, row.last_exit = before.restarts, before.last_exit
        if before.process is not None and adopted is None:  # it died while unwatched
            row.restarts, row.last_exit = row.restarts + 1, UNWATCHED_EXIT
            died = True
    return row, died
