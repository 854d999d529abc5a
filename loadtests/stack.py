"""Starts what a run needs (a broker unless one is given, registry processes) and stops it all."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from loadtests.localbroker import LocalBroker
from loadtests.outage import observe_outage
from loadtests.reportmodel import BrokerOutage
from services.shared.settings import REPO_ROOT


class StackError(RuntimeError):
    """A part of the stack did not come up; the message says which and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def scrape(port: int, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as resp:
        return str(resp.read().decode())


@dataclass
class ServiceProcess:
    """One service as an OS process, started with its own settings in the environment."""

    name: str
    module: str
    env: dict[str, str]
    metrics_port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {
            **os.environ,
            **self.env,
            "NDX_METRICS_PORT": str(self.metrics_port),
            "NDX_INSTANCE": self.name,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self, service: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        want = f'ndx_service_ready{{service="{service}"}} 1.0'
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise StackError(
                    f"{self.name} exited with {self.proc.returncode}:\n{tail(self.log_path)}"
                )
            try:
                if want in scrape(self.metrics_port, 1.0):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise StackError(f"{self.name} not ready after {timeout:.0f}s:\n{tail(self.log_path)}")

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def kind(self) -> str:
        """registry, monitor, ...: the label its readiness gauge carries."""
        return self.module.rsplit(".", 1)[-1]

    def kill(self) -> None:
        """SIGKILL: nothing is drained, nothing uncommitted is kept."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class RunStack:
    """Context for one run: an existing cluster or a fresh local broker, plus registry instances."""

    def __init__(
        self, run_dir: Path, topology: Path, registries: int, bootstrap: str | None
    ) -> None:
        self.run_dir, self.topology, self.registries = run_dir, topology, registries
        self.bootstrap = bootstrap
        self.broker: LocalBroker | None = None
        self.services: list[ServiceProcess] = []

    def start(self) -> str:
        if self.bootstrap is None:
            data = REPO_ROOT / ".cache" / "brokers" / self.run_dir.name
            self.broker = LocalBroker(data, port=free_port(), controller_port=free_port())
            self.bootstrap = self.broker.start()
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "NDX_TOPOLOGY": str(self.topology)}
        members = [(f"registry-{i}", "registry") for i in range(1, self.registries + 1)]
        for name, kind in [*members, ("monitor", "monitor")]:
            log = self.run_dir / "logs" / f"{name}.log"
            svc = ServiceProcess(name, f"services.{kind}", env, free_port(), log)
            svc.start()
            self.services.append(svc)
        for svc in self.services:
            svc.wait_ready(svc.kind)
        return self.bootstrap

    def restart_service(
        self, name: str, kill: bool, down_s: float, env: dict[str, str] | None = None
    ) -> float:
        """Stop (or kill) one service, wait, start it again; returns seconds until it is ready."""
        svc = next(s for s in self.services if s.name == name)
        started = time.monotonic()
        if kill:
            svc.kill()
        else:
            svc.stop()
        time.sleep(down_s)
        svc.env = {**svc.env, **(env or {})}
        svc.start()
        svc.wait_ready(svc.kind)
        return time.monotonic() - started

    def restart_broker(self, down_s: float) -> BrokerOutage:
        """Stop the local broker for down_s and start it on its data again, watching the
        services: their readiness falls and returns, their log lines and CPU while it is away."""
        broker = self.broker
        if broker is None:
            raise StackError(
                "restart_broker needs the local broker (KAFKA_BOOTSTRAP_SERVERS is set)"
            )
        return observe_outage(self.services, broker.stop, broker.start, down_s)

    def ports(self, kind: str) -> list[int]:
        """Metrics ports of the running services of one kind (registry, monitor)."""
        return [s.metrics_port for s in self.services if s.module == f"services.{kind}"]

    def stop(self) -> dict[str, int | None]:
        codes = {svc.name: svc.stop() for svc in self.services}
        if self.broker is not None:
            self.broker.stop()
            shutil.rmtree(self.broker.data_dir, ignore_errors=True)
        return codes

    async def __aenter__(self) -> str:
        try:
            return await asyncio.to_thread(self.start)
        except BaseException:
            await asyncio.to_thread(self.stop)
            raise

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
