"""`make up` / `make down`: a supervised stack on fixed ports; only identity-checked pids count.

What `up` and `down` found and did is reported with every stale entry of the saved state named.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from loadtests.cluster import bare_pid, identify, read_pidfile, stop_from_pidfile, terminate
from loadtests.stack import state as stackstate
from loadtests.stack.components import (
    BROKER_DATA,
    JMX_PORT,
    LOGS,
    MEMBERS,
    STATE,
    Member,
    components,
)
from loadtests.stack.serviceproc import StackError, tail
from loadtests.stack.state import STATE_FILE, StackState
from services.config import REPO_ROOT

__all__ = [
    "JMX_PORT",
    "MEMBERS",
    "Member",
    "StackChanges",
    "alive_components",
    "down",
    "gone",
    "running",
    "saved_state",
    "up",
]

UP_WITHIN_S = 240.0  # the broker's first start formats storage; a loaded machine is slow


def running() -> list[str]:
    """Names of the components (and the supervisor) that run as recorded."""
    state = stackstate.load()
    if state is None:
        return []
    names = ["supervisor"] if identify(state.supervisor) else []
    return names + [r.name for r in state.components if identify(r.process)]


def up(bootstrap: str | None, topology: Path, within_s: float = UP_WITHIN_S) -> StackChanges:
    """Start what is missing; a live supervisor is told to start now, a dead one replaced."""
    changes = StackChanges()
    state = saved_state(changes)
    alive = alive_components(state, changes)
    supervisor = identify(state.supervisor) if state else None
    if supervisor is not None and state is not None:
        # not ready yet counts as missing: it died or was just restarted; `up` waits for it
        missing = [r.name for r in state.components if r.name not in alive or r.phase != "up"]
        changes.running = [r.name for r in state.components if r.name not in missing]
        if missing:
            supervisor.send_signal(signal.SIGUSR1)  # start them now, not after their backoff
            _wait_all_up(supervisor, within_s)
            changes.restarted = missing
    else:
        if state is not None and state.supervisor is not None:
            changes.stale.append(gone("supervisor", state.supervisor.pid))
        names = [c.name for c in components(bootstrap, topology)]
        supervisor = _spawn(bootstrap, topology)
        try:
            _wait_all_up(supervisor, within_s)
        except StackError as exc:
            if alive:  # leave what ran before to the supervisor; `ndxsim status` shows it
                raise
            stopped = down().stopped
            raise StackError(f"{exc}\nstopped again: {', '.join(stopped) or 'nothing'}") from None
        ended = {r.name for r in state.components if r.process} if state is not None else set()
        changes.running = [n for n in names if n in alive]
        changes.restarted = [n for n in names if n not in alive and n in ended]
        changes.started = [n for n in names if n not in alive and n not in ended]
    final = stackstate.load()
    if final is None:
        raise StackError(f"{STATE_FILE} vanished while the stack started (a concurrent `down`?)")
    changes.urls = [f"{r.name:<10} {url}" for r in final.components for url in r.urls]
    changes.urls.append(f"{'supervisor':<10} {final.metrics_url}")
    if final.get("prometheus") is None:
        changes.urls.append("prometheus (not installed: apt-get install prometheus)")
    return changes


def _spawn(bootstrap: str | None, topology: Path) -> psutil.Process:
    """The supervisor, detached: it outlives this command and its terminal."""
    LOGS.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "loadtests.stack.supervisor", "--topology", str(topology)]
    with (LOGS / "supervisor.log").open("ab") as log:
        return psutil.Popen(
            [*cmd, *(["--bootstrap", bootstrap] if bootstrap else [])],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_all_up(supervisor: psutil.Process, within_s: float) -> None:
    """Until the supervisor reports every component up; its death or the deadline is an error."""
    deadline = time.monotonic() + within_s
    while True:
        state = stackstate.load()
        ours = state is not None and state.supervisor and state.supervisor.pid == supervisor.pid
        if (
            state is not None
            and ours
            and all(r.phase == "up" and identify(r.process) for r in state.components)
        ):
            return
        if not supervisor.is_running() or supervisor.status() == psutil.STATUS_ZOMBIE:
            raise StackError(f"the supervisor ended:\n{tail(LOGS / 'supervisor.log')}")
        if time.monotonic() > deadline:
            late = [r for r in state.components if r.phase != "up"] if state else []
            why = "\n".join(
                f"{r.name}: {r.phase}, last exit {r.last_exit or '-'}\n"
                f"{tail(LOGS / f'{r.name}.log', 8)}"
                for r in late
            )
            raise StackError(f"not up after {within_s:.0f}s:\n{why}")
        time.sleep(0.3)


def down(timeout_s: float = 20.0) -> StackChanges:
    """Stop the supervisor first, then the components in reverse order; never a foreign pid."""
    changes = StackChanges()
    state = saved_state(changes)
    supervisor = identify(state.supervisor) if state else None
    if state is not None and state.supervisor is not None and supervisor is None:
        changes.stale.append(gone("supervisor", state.supervisor.pid))
    if supervisor is not None:
        terminate(supervisor, 10.0)
        changes.stopped.append("supervisor")
        state = stackstate.load()  # its final word: what it started until it stopped
    alive = alive_components(state, changes)
    for row in reversed(state.components if state else []):
        if (proc := alive.get(row.name)) is not None:
            terminate(proc, 40.0 if row.name == "broker" else timeout_s)
            changes.stopped.append(row.name)
    if stop_from_pidfile(BROKER_DATA) and "broker" not in changes.stopped:
        changes.stopped.append("broker")
    STATE_FILE.unlink(missing_ok=True)
    return changes


@dataclass
class StackChanges:
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


def saved_state(changes: StackChanges) -> StackState | None:
    """The saved state, minus the pid files of older versions (bare pids, never trusted)."""
    for path in [*STATE.glob("*.pid"), BROKER_DATA / "broker.pid"]:
        if path.exists() and read_pidfile(path) is None:
            changes.stale.append(f"{path.name} (pid {bare_pid(path)}, unverified; not signalled)")
            path.unlink(missing_ok=True)
    try:
        return stackstate.load()
    except stackstate.StateError as exc:
        changes.stale.append(str(exc))
        STATE_FILE.unlink(missing_ok=True)
        return None


def alive_components(state: StackState | None, changes: StackChanges) -> dict[str, psutil.Process]:
    """Components whose recorded process is still that very process; stale ones are reported."""
    alive: dict[str, psutil.Process] = {}
    for row in state.components if state else []:
        if (proc := identify(row.process)) is not None:
            alive[row.name] = proc
        elif row.process is not None:
            changes.stale.append(gone(row.name, row.process.pid))
    return alive


def gone(name: str, pid: int) -> str:
    try:
        other = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        other = False
    return f"{name} pid {pid} ({'now another process, not signalled' if other else 'ended'})"
