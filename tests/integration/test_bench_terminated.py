"""`make bench` sent SIGTERM stops its broker, services and workers as Ctrl-C does."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
BROKER, REGISTRY = "kafka.Kafka", "-m services.registry"
START_S, STOP_S = 240.0, 180.0  # generous: the machine is shared and a JVM starts slowly
# The smallest bench: one plaintext series of one worker, a few short slow steps.
SMALL = [
    "--quick",
    "--security",
    "off",
    "--workers",
    "1",
    "--max-rate",
    "20",
    "--step-seconds",
    "2",
    "--warm-up-s",
    "1",
    "--budget-s",
    "30",
]


def cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def ours(tmp_path: Path) -> list[psutil.Process]:
    """Every process on the machine whose command line names this test's directory."""
    return [p for p in psutil.process_iter() if str(tmp_path) in cmdline(p)]


@pytest.mark.parametrize(
    "running",
    [BROKER, REGISTRY],
    ids=["while-its-broker-starts", "while-a-step-plays"],
)
def test_sigterm_stops_the_bench_with_its_broker_and_every_process_it_started(
    tmp_path: Path, running: str
) -> None:
    dirs = ["--runs-dir", str(tmp_path / "runs"), "--broker-dir", str(tmp_path / "brokers")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NDX_")}
    with (tmp_path / "bench.out").open("w+", encoding="utf-8") as out:
        bench = subprocess.Popen(
            [sys.executable, "-m", "loadtests.bench", *SMALL, *dirs],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        started: list[psutil.Process] = []

        def caught() -> bool:
            """The bench's processes now, once `running` is among them (or the bench is over)."""
            started[:] = descendants(bench.pid)
            return bench.poll() is not None or any(running in cmdline(p) for p in started)

        try:
            with contextlib.suppress(AssertionError):  # not caught: the bench's output says why
                wait_for(caught, START_S, f"{running} started by the bench", every=0.2)
            out.seek(0)
            assert any(running in cmdline(p) for p in started), out.read()
            assert any(BROKER in cmdline(p) for p in started)
            bench.send_signal(signal.SIGTERM)
            code = bench.wait(timeout=STOP_S)
            out.seek(0)
            printed = out.read()
            assert code == 143, printed
            assert "terminated; broker and services stopped" in printed
            _, alive = psutil.wait_procs(started, timeout=30)
            assert alive == [], [cmdline(p) for p in alive]
            assert ours(tmp_path) == []
        finally:
            for proc in [*descendants(bench.pid), *started, *ours(tmp_path)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
            bench.kill()
            bench.wait()
