"""Local workers: `ndxsim worker` OS processes on this machine, joined like any remote one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from services.config import REPO_ROOT

STOP_WAIT_S = 20.0


def default_workers() -> int:
    """One per CPU, at least one."""
    return max(1, psutil.cpu_count() or os.cpu_count() or 1)


class LocalWorkers:
    """Starts n worker processes for one run; their logs go to the run's logs folder."""

    def __init__(self, run_dir: Path, run_id: str, n: int, env: dict[str, str]) -> None:
        self.run_dir, self.run_id, self.n, self.env = run_dir, run_id, n, env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        logs = self.run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "NDX_RUN_CONFIG"}
        for i in range(1, self.n + 1):
            name = f"{self.run_id}-w{i}"
            with (logs / f"worker-{i}.log").open("ab") as log:
                self.procs[name] = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "loadtests",
                        "worker",
                        "--run",
                        self.run_id,
                        "--name",
                        name,
                    ],
                    env={**env, **self.env},
                    cwd=REPO_ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs.values() if p.poll() is None]

    def exited(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is not None

    def stop(self, wait_s: float = STOP_WAIT_S) -> dict[str, int | None]:
        """Each worker leaves by itself after the run's end; one that does not is ended."""
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait(5)
            wait_s = 1.0
        return codes
