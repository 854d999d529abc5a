"""The detached supervisor `ndxsim up` leaves behind: every component its child, kept running.

Run by `ndxsim up` as `python -m loadtests.stack.supervisor`; not meant to be started by hand.
SIGTERM ends the supervisor alone (its components keep running, `ndxsim down` stops them
next); SIGUSR1 starts every component that is waiting out its backoff now. A keeper per
component starts it, follows its readiness and restarts it with backoff; processes an earlier
supervisor left behind are adopted by identity and their deaths counted.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Protocol

import psutil
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from loadtests.cluster import BrokerError, describe_exit, identify, record_of, wait_gone
from loadtests.cluster.localbroker import PID_FILE, running_process, write_pid
from loadtests.stack import state as stackstate
from loadtests.stack.components import (
    BROKER_DATA,
    BROKER_PORT,
    STATE,
    SUPERVISOR_PORT,
    Component,
    components,
    ready,
)
from loadtests.stack.state import ComponentState, Phase, StackState
from loadtests.stack.upsecure import secure
from services.config import REPO_ROOT

__all__ = ["UNWATCHED_EXIT", "Backoff", "Keeper", "Supervisor", "adoptable", "carried_row", "main"]

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


READY_WITHIN_S = 180.0  # a start that is not ready by then is killed and counted as a failure


PROBE_EVERY_S = (0.5, 5.0)  # while starting, once ready


POLL_S = 0.3  # how soon a death is seen, without a thread waking many times a second


@dataclass
class Backoff:
    """Exponential delays between restarts, capped; a run that lasted resets them."""

    initial_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 30.0
    reset_after_s: float = 60.0
    failures: int = 0

    def next_delay(self, uptime_s: float) -> float:
        if uptime_s >= self.reset_after_s:
            self.failures = 0
        delay = min(self.cap_s, self.initial_s * self.factor**self.failures)
        self.failures += 1
        return delay


class Host(Protocol):
    """What a keeper needs from the supervisor around it."""

    stopping: threading.Event
    broker_ready: threading.Event

    def launch(self, component: Component) -> psutil.Process | None: ...
    def broker_serving(self) -> None:
        """The broker answers: ready it for the services (users, ACLs), then let them start."""
        ...

    def set_phase(self, name: str, phase: Phase) -> None: ...
    def exited(self, name: str, how: str, delay_s: float) -> None: ...


class Keeper(threading.Thread):
    """One thread per component, so a slow start (the broker's) never delays the others."""

    def __init__(self, component: Component, host: Host, adopted: psutil.Process | None) -> None:
        super().__init__(name=f"keep-{component.name}", daemon=True)
        self.component, self.host, self.adopted = component, host, adopted
        self.backoff = Backoff()
        self.wake = threading.Event()

    def run(self) -> None:
        proc, self.adopted = self.adopted, None
        name, stopping = self.component.name, self.host.stopping
        while not stopping.is_set():
            if self.component.probe != "broker":
                while not self.host.broker_ready.wait(0.5):  # services need a broker to start
                    if stopping.is_set():
                        return
            started = time.monotonic()
            try:
                proc = proc or self.host.launch(self.component)
                if proc is None:  # the supervisor is stopping
                    return
                how = describe_exit(self._follow(proc))
            except (BrokerError, OSError, psutil.Error) as exc:
                how = f"could not start: {exc}".splitlines()[0]
            except Exception:  # a keeper that dies would leave its component unsupervised
                log.exception("%s: unexpected error while keeping it", name)
                how = "supervision error (see the supervisor's log)"
            proc = None
            if stopping.is_set():
                return
            delay = self.backoff.next_delay(time.monotonic() - started)
            self.host.exited(name, how, delay)
            self.wake.wait(delay)
            self.wake.clear()

    def _follow(self, proc: psutil.Process) -> int | None:
        """Until the process ends: its phase follows the readiness probe; returns its exit code."""
        c = self.component
        give_up = time.monotonic() + READY_WITHIN_S
        was_ready, next_probe = False, 0.0
        while True:
            ended, code = wait_gone(proc, 0)
            if ended or self.host.stopping.wait(POLL_S):
                return code
            if time.monotonic() < next_probe:
                continue
            is_ready = ready(c.probe, c.name, c.probe_port)
            if is_ready and not was_ready:
                log.info("%s ready (pid %d)", c.name, proc.pid)
                if c.probe == "broker":
                    self.host.broker_serving()
            was_ready = was_ready or is_ready
            phase: Phase = "up" if is_ready else "unready" if was_ready else "starting"
            self.host.set_phase(c.name, phase)
            next_probe = time.monotonic() + PROBE_EVERY_S[was_ready]
            if not was_ready and time.monotonic() > give_up:
                log.warning(
                    "%s not ready after %.0fs: killing pid %d", c.name, READY_WITHIN_S, proc.pid
                )
                proc.kill()


class Supervisor:
    """Owns the state file: keepers report to it, it saves each change and updates its metrics."""

    def __init__(
        self, comps: list[Component], bootstrap: str, prior: StackState | None, topology: Path
    ) -> None:
        self.comps = {c.name: c for c in comps}
        self.bootstrap, self.topology = bootstrap, topology
        self.stopping, self.broker_ready = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.metrics = CollectorRegistry()
        self.restarts = Counter(
            "ndx_component_restarts",
            "Restarts of a component of the local stack after it died.",
            ["component"],
            registry=self.metrics,
        )
        self.up = Gauge(
            "ndx_component_up",
            "1 while the component runs and reports ready.",
            ["component"],
            registry=self.metrics,
        )
        rows, self.keepers = [], []
        for c in comps:
            before = prior.get(c.name) if prior is not None else None
            adopted = adoptable(c, before)
            row, died_unwatched = carried_row(c, before, adopted)
            if died_unwatched:
                self.restarts.labels(c.name).inc()
            rows.append(row)
            self.keepers.append(Keeper(c, self, adopted))
            self.restarts.labels(c.name)
            self.up.labels(c.name).set(0)
        if "broker" not in self.comps:
            self.broker_ready.set()  # an existing cluster: nothing to wait for
        url = f"http://127.0.0.1:{SUPERVISOR_PORT}/metrics"
        self.state = StackState(
            supervisor=record_of(os.getpid()), metrics_url=url, bootstrap=bootstrap, components=rows
        )

    def _change(self, name: str, **fields: object) -> None:
        with self.lock:
            self._change_held(name, **fields)

    def _change_held(self, name: str, **fields: object) -> None:
        """Update one row and save; the caller holds the lock."""
        if self.state.supervisor is None:  # stopped: the final state is saved already
            return
        row = next(r for r in self.state.components if r.name == name)
        self.state.components[self.state.components.index(row)] = row.model_copy(update=fields)
        stackstate.save(self.state)

    def launch(self, component: Component) -> psutil.Process | None:
        """Start the component as a child and record it, unless the supervisor is stopping."""
        cmd = component.command()  # may take a while (the broker formats its storage)
        component.log.parent.mkdir(parents=True, exist_ok=True)
        with self.lock, component.log.open("ab") as out:
            if self.stopping.is_set():
                return None
            proc = psutil.Popen(
                cmd,
                env={**os.environ, **component.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=REPO_ROOT,
            )
            if component.probe == "broker":
                write_pid(BROKER_DATA, proc.pid)
            self._change_held(
                component.name, phase="starting", process=record_of(proc.pid), next_start_at=None
            )
        log.info("%s: started pid %d", component.name, proc.pid)
        return proc

    def broker_serving(self) -> None:
        """Users, ACLs and topics on a broker made afresh; then the services may start."""
        try:
            secure(self.bootstrap, BROKER_DATA, self.topology)
        except Exception:  # the services wait; the broker's next start tries again
            log.exception("could not provision the local broker")
            return
        self.broker_ready.set()

    def set_phase(self, name: str, phase: Phase) -> None:
        self.up.labels(name).set(1 if phase == "up" else 0)
        row = self.state.get(name)
        if row is not None and row.phase != phase:
            self._change(name, phase=phase)

    def exited(self, name: str, how: str, delay_s: float) -> None:
        row = self.state.get(name)
        count = (row.restarts if row else 0) + 1
        log.warning("%s %s; restart %d in %.1fs", name, how, count, delay_s)
        self.restarts.labels(name).inc()
        self.up.labels(name).set(0)
        if name == "broker":  # services that die meanwhile wait for it instead of failing
            self.broker_ready.clear()
            (BROKER_DATA / PID_FILE).unlink(missing_ok=True)
        self._change(
            name,
            phase="backoff",
            process=None,
            restarts=count,
            last_exit=how,
            next_start_at=time.time() + delay_s,
        )

    def start_now(self) -> None:
        """Cut short the backoff of what is down (SIGUSR1 from `ndxsim up`), seen yet or not."""
        for keeper in self.keepers:
            row = self.state.get(keeper.component.name)
            down = row is not None and (row.phase == "backoff" or identify(row.process) is None)
            if self.stopping.is_set() or down:
                keeper.wake.set()

    def run(self) -> None:
        with self.lock:
            stackstate.save(self.state)
        try:
            start_http_server(SUPERVISOR_PORT, addr="127.0.0.1", registry=self.metrics)
        except OSError as exc:
            log.warning("no /metrics on :%d: %s", SUPERVISOR_PORT, exc.strerror)
        for keeper in self.keepers:
            keeper.start()
        while not self.stopping.wait(1.0):
            pass
        self.start_now()
        with self.lock:  # components keep running; `ndxsim down` or a new supervisor takes over
            self.state = self.state.model_copy(update={"supervisor": None})
            stackstate.save(self.state)
        log.info("supervisor stopped; components left running")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.stack.supervisor", description=__doc__
    )
    parser.add_argument("--bootstrap", default=None, help="an existing cluster: no local broker")
    parser.add_argument("--topology", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s supervisor %(levelname)s %(message)s")
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "supervisor.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # one supervisor per stack
        except BlockingIOError:
            log.error("another supervisor runs on %s", STATE)
            return 1
        try:
            prior = stackstate.load()
        except stackstate.StateError as exc:
            log.warning("%s; starting afresh", exc)
            prior = None
        comps = components(args.bootstrap, args.topology)
        bootstrap = args.bootstrap or f"127.0.0.1:{BROKER_PORT}"
        supervisor = Supervisor(comps, bootstrap, prior, args.topology)

        def on_stop(signum: int, frame: FrameType | None) -> None:
            supervisor.stopping.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGUSR1, lambda signum, frame: supervisor.start_now())
        supervisor.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
