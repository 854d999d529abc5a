"""The supervisor's state and metrics: keepers report to it, it owns the stack's state file."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from pathlib import Path

import psutil
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from loadtests.cluster.localbroker import PID_FILE, write_pid
from loadtests.cluster.procs import identify, record_of
from loadtests.stack import state as stackstate
from loadtests.stack.adopt import adoptable, carried_row
from loadtests.stack.components import BROKER_DATA, SUPERVISOR_PORT, Component
from loadtests.stack.keeper import Keeper
from loadtests.stack.state import Phase, StackState
from loadtests.stack.upsecure import secure
from services.config.settings import REPO_ROOT

__all__ = ["Supervisor"]

log = logging.getLogger("ndx.supervise")


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
