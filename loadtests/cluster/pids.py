"""Pid files of broker JVMs, trusted only when the pid still runs that node's command line."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from loadtests.cluster.jars import BrokerError, read_text

PID_FILE = "broker.pid"
PROPERTIES = "server.properties"


def running_pid(node_dir: Path) -> int | None:
    """The pid of the live broker JVM recorded in node_dir, ignoring stale or reused pids."""
    try:
        pid = int(read_text(node_dir / PID_FILE).strip())
    except ValueError:
        return None
    if not pid_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return pid  # no /proc (not Linux): trust the pid file
    props = str(node_dir.resolve() / PROPERTIES)
    return pid if "kafka.Kafka" in cmdline and props in cmdline else None


def stop_from_pidfile(node_dir: Path, timeout: float = 30.0) -> bool:
    """Stop the broker another process started on node_dir; False if none was running."""
    pid = running_pid(node_dir)
    if pid is not None:
        signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid):
            if time.monotonic() > deadline:
                signal_group(pid, signal.SIGKILL)
            if time.monotonic() > deadline + 10:
                raise BrokerError(f"broker pid {pid} survived SIGKILL")
            time.sleep(0.1)
    (node_dir / PID_FILE).unlink(missing_ok=True)
    return pid is not None


def pid_alive(pid: int) -> bool:
    """True while the process runs (a zombie counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):  # a zombie has exited already
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # started with start_new_session, so pgid == pid
