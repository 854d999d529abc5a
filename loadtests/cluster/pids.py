"""Pid files of broker JVMs, trusted only when the pid still runs the very process recorded.

A record holds the pid, the process start time and its command line (`cluster.procs`); a
bare pid, a pid now running something else, or a JVM of another directory is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import psutil

from loadtests.cluster.jars import BrokerError
from loadtests.cluster.procs import (
    alive,
    identify,
    read_pidfile,
    record_of,
    terminate,
    write_pidfile,
)

PID_FILE = "broker.pid"
PROPERTIES = "server.properties"


def write_pid(node_dir: Path, pid: int) -> None:
    """Record the JVM with its start time and command line, so a reused pid is never trusted."""
    write_pidfile(node_dir / PID_FILE, record_of(pid))


def running_process(node_dir: Path) -> psutil.Process | None:
    """The recorded JVM if it is the very process recorded and a broker of this node_dir."""
    record = read_pidfile(node_dir / PID_FILE)
    props = str(node_dir.resolve() / PROPERTIES)
    if record is None or "kafka.Kafka" not in record.cmdline or props not in record.cmdline:
        return None
    return identify(record)


def running_pid(node_dir: Path) -> int | None:
    """The pid of the live broker JVM recorded in node_dir, ignoring stale or reused pids."""
    proc = running_process(node_dir)
    return proc.pid if proc is not None else None


def stop_from_pidfile(node_dir: Path, timeout: float = 30.0) -> bool:
    """Stop the broker another process started on node_dir; False if none was running."""
    proc = running_process(node_dir)
    if proc is not None:
        terminate(proc, timeout)
        if alive(proc):
            raise BrokerError(f"broker pid {proc.pid} survived SIGKILL")
    (node_dir / PID_FILE).unlink(missing_ok=True)
    return proc is not None


def pid_alive(pid: int) -> bool:
    """True while the process runs (a zombie counts as ended)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal a JVM this process started itself (start_new_session, so pgid == pid)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
