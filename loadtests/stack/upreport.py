"""What `up` and `down` found and did: the saved state read with every stale entry reported."""

from __future__ import annotations

from dataclasses import dataclass, field

import psutil

from loadtests.cluster.procs import bare_pid, identify, read_pidfile
from loadtests.stack import state as stackstate
from loadtests.stack.components import BROKER_DATA, STATE
from loadtests.stack.state import STATE_FILE, StackState

__all__ = ["Report", "alive_components", "gone", "saved_state"]


@dataclass
class Report:
    """What `up` or `down` did, for one line each."""

    started: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"stale entry removed: {s}" for s in self.stale]
        if self.running and not (self.started or self.restarted):
            return [*out, f"already up: {', '.join(self.running)}; nothing changed", *self.urls]
        done = {
            "started": self.started,
            "restarted": self.restarted,
            "already running": self.running,
            "stopped": self.stopped,
        }
        for verb, names in done.items():
            if names:
                out.append(f"{verb}: {', '.join(names)}")
        return out + self.urls


def saved_state(report: Report) -> StackState | None:
    """The saved state, minus the pid files of older versions (bare pids, never trusted)."""
    for path in [*STATE.glob("*.pid"), BROKER_DATA / "broker.pid"]:
        if path.exists() and read_pidfile(path) is None:
            report.stale.append(f"{path.name} (pid {bare_pid(path)}, unverified; not signalled)")
            path.unlink(missing_ok=True)
    try:
        return stackstate.load()
    except stackstate.StateError as exc:
        report.stale.append(str(exc))
        STATE_FILE.unlink(missing_ok=True)
        return None


def alive_components(state: StackState | None, report: Report) -> dict[str, psutil.Process]:
    """Components whose recorded process is still that very process; stale ones are reported."""
    alive: dict[str, psutil.Process] = {}
    for row in state.components if state else []:
        if (proc := identify(row.process)) is not None:
            alive[row.name] = proc
        elif row.process is not None:
            report.stale.append(gone(row.name, row.process.pid))
    return alive


def gone(name: str, pid: int) -> str:
    try:
        other = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        other = False
    return f"{name} pid {pid} ({'now another process, not signalled' if other else 'ended'})"
