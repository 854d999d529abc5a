"""Pointed at a closed port, every entry point fails fast with a message naming the address."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLOSED = "127.0.0.1:1"
LIMIT_S = 10.0


def run_closed(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": CLOSED, "NDX_CONNECT_TIMEOUT_S": "5"}
    started = time.monotonic()
    done = subprocess.run(
        args,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize("service", ["registry", "ministry", "province"])
def test_service_fails_within_seconds_naming_the_address(service: str) -> None:
    done, elapsed = run_closed([sys.executable, "-m", f"services.{service}"])
    assert done.returncode == 1
    assert CLOSED in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < LIMIT_S, f"{service} took {elapsed:.1f}s to give up"


def test_driver_fails_within_seconds_naming_the_address() -> None:
    scenario = REPO / "loadtests" / "scenarios" / "demo.yaml"
    done, elapsed = run_closed(
        [
            sys.executable,
            "-m",
            "loadtests",
            "run",
            str(scenario),
            "--no-live",
            "--runs-dir",
            "/tmp/ndxsim-unreachable-runs",
        ]
    )
    assert done.returncode == 1
    assert CLOSED in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < LIMIT_S, f"driver took {elapsed:.1f}s to give up"
