"""`ndxsim up` starts the stack in the background, metrics rise, `ndxsim down` stops it all."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from loadtests.cluster.procs import identify
from loadtests.stack import state as stackstate
from loadtests.stack import up as upstack
from loadtests.stack.serviceproc import scrape
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
COMPONENTS = ["broker", "registry", "ministry", "province", "monitor", "prometheus"]
RISING_WITHIN_S = 30.0


def ndxsim(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env["NDX_RATE_PER_AGENCY"] = "20"
    return subprocess.run(
        [sys.executable, "-m", "loadtests", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
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
    state = stackstate.load()
    try:
        assert started.returncode == 0, started.stderr
        assert f"started: {', '.join(COMPONENTS)}" in started.stdout
        assert "http://127.0.0.1:9101/metrics" in started.stdout
        assert "http://127.0.0.1:9090" in started.stdout
        ports = [m.metrics_port for m in upstack.MEMBERS if m.name != "monitor"]
        first = {p: transactions(p) for p in ports}
        rising = {p: False for p in ports}

        def all_rising() -> bool:
            rising.update({p: transactions(p) > first[p] for p in ports if not rising[p]})
            return all(rising.values())

        with contextlib.suppress(AssertionError):
            wait_for(all_rising, RISING_WITHIN_S, "rising transaction counts")
        for port in ports:
            assert rising[port], f"no transactions rising on :{port}"
        again = ndxsim("up")
        assert again.returncode == 0
        assert f"already up: {', '.join(COMPONENTS)}; nothing changed" in again.stdout
        assert upstack.running() == ["supervisor", *COMPONENTS]
        status = ndxsim("status")
        assert status.returncode == 0, status.stdout
        assert all(name in status.stdout for name in ["supervisor", *COMPONENTS])
    finally:
        stopped = ndxsim("down")
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped: supervisor, {', '.join(reversed(COMPONENTS))}" in stopped.stdout
    assert upstack.running() == []
    assert state is not None
    records = [state.supervisor, *(c.process for c in state.components)]
    assert [r for r in records if identify(r) is not None] == []
    after = ndxsim("status")
    assert after.returncode == 1
    assert "not running" in after.stdout
