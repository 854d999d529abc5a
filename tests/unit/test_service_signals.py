"""SIGTERM drains and exits 0; a drain that hangs is cut off by its bound or by a second SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from services.config.settings import REPO_ROOT
from services.process.app import EXIT_NOT_DRAINED

# A service whose drain takes `drain` seconds once it is asked to stop.
SERVICE = """
import asyncio, sys
from services.process.app import run_service

async def main(stop):
    print("ready", flush=True)
    await stop.wait()
    await asyncio.sleep({drain})

sys.exit(run_service("toy", main, drain_limit_s={limit}))
"""
LIMIT_S = 20.0


def started(drain: float, limit: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVICE.format(drain=drain, limit=limit)],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, float]:
    begun = time.monotonic()
    try:
        _out, err = proc.communicate(timeout=LIMIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err, time.monotonic() - begun


def test_sigterm_lets_the_drain_finish_and_exits_0() -> None:
    proc = started(drain=0.3, limit=30)
    proc.send_signal(signal.SIGTERM)
    code, err, _ = finish(proc)
    assert code == 0, err
    assert "without draining" not in err


def test_a_second_sigterm_ends_a_hanging_drain_at_once() -> None:
    proc = started(drain=600, limit=600)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert proc.poll() is None  # still draining
    proc.send_signal(signal.SIGTERM)
    code, err, elapsed = finish(proc)
    assert code == 128 + signal.SIGTERM
    assert "toy: second SIGTERM: exiting without draining" in err
    assert elapsed < LIMIT_S


def test_a_drain_longer_than_its_bound_is_cut_off_with_a_distinct_code() -> None:
    proc = started(drain=600, limit=1)
    proc.send_signal(signal.SIGTERM)
    code, err, elapsed = finish(proc)
    assert code == EXIT_NOT_DRAINED
    assert "toy: not drained within 1s" in err
    assert elapsed < LIMIT_S
