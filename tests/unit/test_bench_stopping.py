"""SIGTERM ends the bench's work as Ctrl-C does, and no process it started outlives it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
# A bench in miniature: a Kafka tool run in a thread (as raw_ceiling runs its JVM) that nobody
# stops but the last resort, and a finally block standing for the broker's stop.
BENCH = """
import asyncio, subprocess, sys
from loadtests.bench.stopping import Terminated, until_terminated

TOOL = "import os, time; print(os.getpid(), flush=True); time.sleep(300)"

async def main() -> None:
    try:
        await asyncio.to_thread(subprocess.run, [sys.executable, "-c", TOOL])
    finally:
        print("stopped", flush=True)

try:
    asyncio.run(until_terminated(main()))
except Terminated:
    sys.exit(143)
"""


def test_sigterm_runs_the_benchs_finally_blocks_and_ends_a_tool_left_in_a_thread() -> None:
    bench = subprocess.Popen(
        [sys.executable, "-c", BENCH], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert bench.stdout is not None
        tool = psutil.Process(int(bench.stdout.readline()))
        assert tool.ppid() == bench.pid
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=60) == 143
        assert bench.stdout.read().split() == ["stopped"]
        deadline = time.monotonic() + 30
        while tool.is_running() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not tool.is_running()
    finally:
        if bench.poll() is None:
            for proc in psutil.Process(bench.pid).children(recursive=True):
                proc.kill()
            bench.kill()
        bench.wait()
