"""`ndxsim up` starts the stack in the background, metrics rise, `ndxsim down` stops it all."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from loadtests import upstack
from loadtests.stack import scrape

REPO = Path(__file__).resolve().parents[2]


def ndxsim(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env["NDX_RATE_PER_AGENCY"] = "20"
    return subprocess.run(
        [sys.executable, "-m", "loadtests", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def transactions(port: int) -> float:
    total = 0.0
    for family in text_string_to_metric_families(scrape(port)):
        if family.name == "ndx_sharing_transactions":
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return total


def test_up_serves_rising_transaction_counts_and_down_stops_everything() -> None:
    assert not upstack.running(), f"a local stack is already running: {upstack.running()}"
    started = ndxsim("up")
    try:
        assert started.returncode == 0, started.stderr
        assert "http://127.0.0.1:9101/metrics" in started.stdout
        ports = [m.metrics_port for m in upstack.MEMBERS if m.name != "monitor"]
        first = {p: transactions(p) for p in ports}
        time.sleep(4)
        second = {p: transactions(p) for p in ports}
        for port in ports:
            assert second[port] > first[port], f"no transactions rising on :{port}"
        again = ndxsim("up")
        assert again.returncode == 0
        assert "already up" in again.stdout
        expected = ["broker", "registry", "ministry", "province", "monitor", "prometheus"]
        assert upstack.running() == expected
        assert "http://127.0.0.1:9090" in started.stdout
    finally:
        stopped = ndxsim("down")
    assert stopped.returncode == 0, stopped.stderr
    assert upstack.running() == []
    assert "registry" in stopped.stdout
    assert "broker" in stopped.stdout
