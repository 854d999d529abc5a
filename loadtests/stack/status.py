"""`ndxsim status`: each component of the local stack as it runs now, checked live."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.table import Table

from loadtests.cluster import identify
from loadtests.stack import state as stackstate
from loadtests.stack.components import ready
from loadtests.stack.state import ComponentState, StackState


@dataclass(frozen=True)
class Row:
    name: str
    state: str
    pid: int | None
    where: str
    restarts: int | None
    uptime_s: float | None
    last_exit: str

    @property
    def up(self) -> bool:
        return self.state == "up"


def _component(row: ComponentState, supervised: bool) -> Row:
    proc = identify(row.process)
    where = " ".join(row.urls)
    if proc is None:
        if row.process is not None:
            state = f"down (stale pid {row.process.pid})"
        elif supervised and row.phase == "backoff" and row.next_start_at is not None:
            state = f"restarting in {max(0.0, row.next_start_at - time.time()):.0f}s"
        else:
            state = "down"
        return Row(row.name, state, None, where, row.restarts, None, row.last_exit or "")
    if ready(row.probe, row.name, row.probe_port):
        state = "up"
    else:
        state = "unready" if row.phase in ("up", "unready") else "starting"
    uptime = time.time() - proc.create_time()
    return Row(row.name, state, proc.pid, where, row.restarts, uptime, row.last_exit or "")


def rows(state: StackState | None = None) -> list[Row]:
    """The supervisor first, then the components in start order; empty when nothing was up."""
    state = state or stackstate.load()
    if state is None:
        return []
    sup = identify(state.supervisor)
    head = Row(
        "supervisor",
        "up" if sup else "down",
        sup.pid if sup else None,
        state.metrics_url or "",
        None,
        time.time() - sup.create_time() if sup else None,
        "",
    )
    return [head, *(_component(r, sup is not None) for r in state.components)]


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def table(found: list[Row]) -> Table:
    out = Table(title="ndxsim local stack")
    for column in ("component", "state", "pid", "ports / URLs", "restarts", "uptime", "last exit"):
        out.add_column(column, justify="right" if column in ("pid", "restarts") else "left")
    for r in found:
        colour = "green" if r.up else "yellow" if r.pid else "red"
        out.add_row(
            r.name,
            f"[{colour}]{r.state}[/]",
            str(r.pid or "-"),
            r.where,
            "-" if r.restarts is None else str(r.restarts),
            _uptime(r.uptime_s),
            r.last_exit,
        )
    return out
