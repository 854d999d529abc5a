"""`make up` / `make down`: the whole stack in the background on fixed ports, with pid files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from loadtests.localbroker import LocalBroker, pid_alive, stop_from_pidfile
from loadtests.stack import ServiceProcess, StackError
from services.shared.settings import REPO_ROOT

STATE = REPO_ROOT / ".cache" / "stack"
BROKER_PORT, CONTROLLER_PORT, JMX_PORT = 9092, 9093, 9108


class AlreadyUp(StackError):
    """`up` found the stack running and left it as it was."""


@dataclass(frozen=True)
class Member:
    name: str
    module: str
    metrics_port: int


MEMBERS = (
    Member("registry", "services.registry", 9101),
    Member("ministry", "services.ministry", 9102),
    Member("province", "services.province", 9103),
    Member("monitor", "services.monitor", 9105),
)
PROMETHEUS_PORT = 9090
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"


def _pid(name: str) -> int | None:
    path = STATE / f"{name}.pid"
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def running() -> list[str]:
    names = [m.name for m in MEMBERS if _pid(m.name)]
    if _pid("broker-data/broker"):
        names.insert(0, "broker")
    if _pid("prometheus"):
        names.append("prometheus")
    return names


def _start_prometheus() -> str | None:
    """A Prometheus with the project's configuration, when the binary is installed."""
    binary = shutil.which("prometheus")
    if binary is None:
        return None
    log = (STATE / "logs" / "prometheus.log").open("ab")
    proc = subprocess.Popen(
        [binary, f"--config.file={PROMETHEUS_CONFIG}",
         f"--storage.tsdb.path={STATE / 'prometheus-data'}",
         f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    (STATE / "prometheus.pid").write_text(str(proc.pid))
    return f"prometheus http://127.0.0.1:{PROMETHEUS_PORT}"


def up(bootstrap: str | None, topology: Path) -> list[str]:
    """Start the stack; returns the URLs to print. Raises AlreadyUp and changes nothing if up."""
    if running():
        raise AlreadyUp(f"the stack is already up ({', '.join(running())}); nothing changed")
    STATE.mkdir(parents=True, exist_ok=True)
    if bootstrap is None:
        broker = LocalBroker(STATE / "broker-data", BROKER_PORT, CONTROLLER_PORT, JMX_PORT)
        bootstrap = broker.start()
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "NDX_TOPOLOGY": str(topology)}
    procs = []
    for m in MEMBERS:
        svc = ServiceProcess(
            m.name, m.module, env, m.metrics_port, STATE / "logs" / f"{m.name}.log"
        )
        svc.start()
        assert svc.proc is not None
        (STATE / f"{m.name}.pid").write_text(str(svc.proc.pid))
        procs.append((svc, m))
    for svc, m in procs:
        svc.wait_ready(m.name)
    urls = [f"kafka      {bootstrap}"]
    urls += [f"{m.name:<10} http://127.0.0.1:{m.metrics_port}/metrics" for m in MEMBERS]
    if bootstrap.endswith(f":{BROKER_PORT}"):
        urls.append(f"broker JMX http://127.0.0.1:{JMX_PORT}/metrics")
    prometheus = _start_prometheus()
    urls.append(prometheus or "prometheus (not installed: apt-get install prometheus)")
    return urls


def down(timeout: float = 20.0) -> list[str]:
    """Stop every member that runs; returns what was stopped."""
    stopped = []
    for name in ["prometheus", *(m.name for m in reversed(MEMBERS))]:
        pid = _pid(name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        (STATE / f"{name}.pid").unlink(missing_ok=True)
        stopped.append(name)
    if stop_from_pidfile(STATE / "broker-data"):
        stopped.append("broker")
    return stopped
