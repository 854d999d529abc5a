"""One service as an OS process: started with its settings, watched through /metrics, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Ports for services to listen on, out of the way of outgoing connections.
from loadtests.cluster.probe import free_port as free_port
from services.config import REPO_ROOT


class StackError(RuntimeError):
    """A part of the stack did not come up; the message says which and why."""


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def scrape(port: int, timeout: float = 2.0, names: Iterable[str] = ()) -> str:
    """One /metrics page; with `names`, only those series (the service renders nothing else)."""
    query = urllib.parse.urlencode([("name[]", n) for n in sorted(names)])
    url = f"http://127.0.0.1:{port}/metrics" + (f"?{query}" if query else "")
    with urllib.request.urlopen(url, timeout=timeout) as resp:
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
