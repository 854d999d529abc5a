"""Keeps one component running: start it, follow its readiness, restart it with backoff."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import psutil

from loadtests.cluster.localbroker import BrokerError
from loadtests.cluster.procs import describe_exit, wait_gone
from loadtests.stack.components import Component, ready
from loadtests.stack.state import Phase

log = logging.getLogger("ndx.supervise")
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
