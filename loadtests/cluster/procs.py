"""Process identity: a pid is trusted only with its start time and command line, never alone."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psutil
from pydantic import BaseModel, ConfigDict, ValidationError

# psutil derives start times from boot time, which the kernel may report a little differently
# after a clock adjustment; a reused pid also has to match the whole command line.
START_TOLERANCE_S = 1.0


class ProcessRecord(BaseModel):
    """What a pid file or state entry records about a process the stack started."""

    model_config = ConfigDict(frozen=True)

    pid: int
    create_time: float
    cmdline: tuple[str, ...]


def record_of(pid: int, settle_s: float = 2.0) -> ProcessRecord:
    """The identity of a live process (raises psutil.NoSuchProcess when it is gone).

    Right after a fork the command line reads empty until exec has finished: wait for it.
    """
    proc, deadline = psutil.Process(pid), time.monotonic() + settle_s
    while not (cmdline := proc.cmdline()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return ProcessRecord(pid=pid, create_time=proc.create_time(), cmdline=cmdline)


def identify(record: ProcessRecord | None) -> psutil.Process | None:
    """The live process the record names, or None when it ended or its pid now names another."""
    if record is None:
        return None
    try:
        proc = psutil.Process(record.pid)
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            if abs(proc.create_time() - record.create_time) > START_TOLERANCE_S:
                return None
            if tuple(proc.cmdline()) != record.cmdline:
                return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return proc


def read_pidfile(path: Path) -> ProcessRecord | None:
    """The record in a pid file; None when missing or not a full record (a bare pid is not one)."""
    try:
        return ProcessRecord.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None


def bare_pid(path: Path) -> int | None:
    """The number in a pid file of the old bare-pid format, to name it when it is removed."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def write_json(path: Path, text: str) -> None:
    """Readers never see half a file: write beside it, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(path)


def write_pidfile(path: Path, record: ProcessRecord) -> None:
    write_json(path, record.model_dump_json())


def describe_exit(code: int | None) -> str:
    """'exit 1', 'killed by SIGKILL', or why the code is unknown."""
    if code is None:
        return "ended (exit status unknown: not a child of this supervisor)"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit {code}"


def alive(proc: psutil.Process) -> bool:
    """Still running as the same process (psutil checks the start time); a zombie has ended."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(proc: psutil.Process, timeout: float) -> tuple[bool, int | None]:
    """(ended, exit code): the code is None when unknown (not our child) or not ended yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            code: int | None = proc.wait(0)  # reaps a child; only looks at any other process
            return True, code
        except psutil.NoSuchProcess:
            return True, None
        except psutil.TimeoutExpired:
            if not alive(proc):  # a zombie; a child's code comes once all its threads ended
                with contextlib.suppress(psutil.TimeoutExpired, psutil.NoSuchProcess):
                    return True, proc.wait(5.0 if proc.ppid() == os.getpid() else 0)
                return True, None
        if time.monotonic() >= deadline:
            return False, None
        time.sleep(0.1)


def terminate(proc: psutil.Process, timeout: float) -> str:
    """SIGTERM, SIGKILL after timeout; psutil refuses to signal a pid that was reused meanwhile."""
    try:
        proc.terminate()
    except psutil.NoSuchProcess:
        return "had ended"
    ended, code = wait_gone(proc, timeout)
    if not ended:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
        wait_gone(proc, 10)
        return f"killed (SIGKILL after {timeout:g}s)"
    return "stopped" if code in (None, 0, -signal.SIGTERM) else f"stopped ({describe_exit(code)})"
