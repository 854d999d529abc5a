"""The stack `ndxsim up` starts in the background serves rising metrics and `ndxsim down` stops
it all; the stack is supervised: what dies comes back, what is not ours is left alone.

These tests use the fixed ports of `make up` (9090-9110) and the checkout's one stack state, so
they live in one module and run one after the other. The supervision tests' traffic plays
province.092, which the stack's own province process does not host (NDX_AGENCIES), so its
answers have one reader: the test's ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from loadtests.cluster.procs import ProcessRecord, identify
from loadtests.stack import state as stackstate
from loadtests.stack import up as upstack
from loadtests.stack.components import BROKER_DATA, STATE, SUPERVISOR_PORT, ready
from loadtests.stack.serviceproc import scrape
from loadtests.stack.state import STATE_FILE, ComponentState, StackState
from loadtests.stack.upsecure import process_file
from services.kafka.bus import KafkaTransport
from services.requester.agency import AgencyClient
from services.requester.pending import RetryPolicy
from services.security.access import DRIVER
from services.security.credentials import load_credentials
from services.wire.codec import Catalogue, Codec
from tests.support.processes import sample
from tests.support.traffic import Traffic
from tests.support.waiting import wait_for, wait_for_async

REPO = Path(__file__).resolve().parents[2]
STACK_AGENCIES = "ministry.vss,ministry.tax,ministry.justice,province.001,province.079"
TEST_AGENCY = "province.092"
DEMO_TOPOLOGY = REPO / "loadtests" / "topologies" / "demo.yaml"
RESTART_BOUND_S = 60.0  # SIGKILL to ready on /metrics again, with no user action
COMPONENTS = ["broker", "registry", "ministry", "province", "monitor", "tax", "prometheus"]
RISING_WITHIN_S = 30.0
RATE, COUNT = 40, 600  # 15 s of load
KILL_AFTER = 160  # answers before the kill: it dies under load, with most of it still to come

pytestmark = pytest.mark.timeout(900)


def ndxsim(*args: str, hosted: str | None = STACK_AGENCIES) -> subprocess.CompletedProcess[str]:
    """The CLI with the stack's background traffic at 20/s per agency, on `hosted` agencies
    (None: every agency of the topology, as `make up` plays them)."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env["NDX_RATE_PER_AGENCY"] = "20"
    if hosted is not None:
        env["NDX_AGENCIES"] = hosted
    return subprocess.run(
        [sys.executable, "-m", "loadtests", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )


def records() -> dict[str, ProcessRecord]:
    """What the stack state records for the supervisor and each component."""
    state = stackstate.load()
    assert state is not None, "no stack state"
    rows = [("supervisor", state.supervisor), *((r.name, r.process) for r in state.components)]
    return {name: record for name, record in rows if record is not None}


def pids() -> dict[str, int]:
    """The identity-checked pid of each component running now, and of the supervisor."""
    found = {name: identify(record) for name, record in records().items()}
    return {name: proc.pid for name, proc in found.items() if proc is not None}


def registry_row() -> ComponentState:
    state = stackstate.load()
    row = state.get("registry") if state else None
    assert row is not None, "no registry in the stack state"
    return row


def transactions(port: int) -> float:
    total = 0.0
    for family in text_string_to_metric_families(scrape(port)):
        if family.name == "ndx_sharing_transactions":
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return total


def test_up_serves_rising_transaction_counts_and_down_stops_everything() -> None:
    assert not upstack.running(), f"a local stack is already running: {upstack.running()}"
    started = ndxsim("up", hosted=None)
    state = stackstate.load()
    try:
        assert started.returncode == 0, started.stderr
        assert f"started: {', '.join(COMPONENTS)}" in started.stdout
        assert "http://127.0.0.1:9101/metrics" in started.stdout
        assert "http://127.0.0.1:9107/metrics" in started.stdout
        assert ready("service", "tax", 9107), "the tax authority's reconciler is not ready"
        assert "http://127.0.0.1:9090" in started.stdout
        # the monitor tallies dossiers, the tax authority reconciles only when platforms share
        ports = [m.metrics_port for m in upstack.MEMBERS if m.name not in ("monitor", "tax")]
        first = {p: transactions(p) for p in ports}
        rising = {p: False for p in ports}

        def all_rising() -> bool:
            rising.update({p: transactions(p) > first[p] for p in ports if not rising[p]})
            return all(rising.values())

        with contextlib.suppress(AssertionError):
            wait_for(all_rising, RISING_WITHIN_S, "rising transaction counts")
        for port in ports:
            assert rising[port], f"no transactions rising on :{port}"
        again = ndxsim("up", hosted=None)
        assert again.returncode == 0
        assert f"already up: {', '.join(COMPONENTS)}; nothing changed" in again.stdout
        assert upstack.running() == ["supervisor", *COMPONENTS]
        status = ndxsim("status", hosted=None)
        assert status.returncode == 0, status.stdout
        assert all(name in status.stdout for name in ["supervisor", *COMPONENTS])
    finally:
        stopped = ndxsim("down", hosted=None)
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped: supervisor, {', '.join(reversed(COMPONENTS))}" in stopped.stdout
    assert upstack.running() == []
    assert state is not None
    records = [state.supervisor, *(c.process for c in state.components)]
    assert [r for r in records if identify(r) is not None] == []
    after = ndxsim("status", hosted=None)
    assert after.returncode == 1
    assert "not running" in after.stdout


@pytest.fixture
def foreign() -> Iterator[subprocess.Popen[bytes]]:
    """A live process the stack did not start, whose pid a test plants in the stack's files."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def reused(pid: int, cmdline: tuple[str, ...]) -> ProcessRecord:
    """A record as the stack wrote it once, whose pid now belongs to another process."""
    return ProcessRecord(
        pid=pid, create_time=psutil.Process(pid).create_time() - 3600, cmdline=cmdline
    )


def test_down_never_signals_a_foreign_pid_in_the_pid_files(
    foreign: subprocess.Popen[bytes],
) -> None:
    assert upstack.running() == [], f"a local stack is already running: {upstack.running()}"
    python = (sys.executable, "-m")
    rows = [
        ComponentState(
            name=name,
            probe="service",
            probe_port=port,
            ports=(port,),
            urls=(),
            process=reused(foreign.pid, (*python, f"services.{name}")),
        )
        for name, port in (("registry", 9101), ("monitor", 9105))
    ]
    sup = reused(foreign.pid, (*python, "loadtests.stack.supervisor"))
    stackstate.save(StackState(supervisor=sup, bootstrap="127.0.0.1:9092", components=rows))
    (STATE / "province.pid").write_text(f"{foreign.pid}\n")  # the bare pid of older versions
    BROKER_DATA.mkdir(parents=True, exist_ok=True)
    (BROKER_DATA / "broker.pid").write_text(f"{foreign.pid}\n")

    status = ndxsim("status")
    stopped = ndxsim("down")

    assert status.returncode == 1, status.stdout
    assert f"stale pid {foreign.pid}" in status.stdout
    assert stopped.returncode == 0, stopped.stderr
    assert foreign.poll() is None, "down signalled a process the stack did not start"
    assert "stopped:" not in stopped.stdout, stopped.stdout
    assert f"registry pid {foreign.pid} (now another process, not signalled)" in stopped.stdout
    assert f"province.pid (pid {foreign.pid}, unverified; not signalled)" in stopped.stdout
    assert not STATE_FILE.exists() and not (STATE / "province.pid").exists()
    assert not (BROKER_DATA / "broker.pid").exists()


@pytest.fixture(scope="module")
def stack() -> Iterator[None]:
    assert upstack.running() == [], f"a local stack is already running: {upstack.running()}"
    started = ndxsim("up")
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        assert "started: broker, registry, ministry, province, monitor, tax" in started.stdout
        yield
    finally:
        before = records()
        stopped = ndxsim("down")
        assert stopped.returncode == 0, stopped.stderr
        left = [name for name, record in before.items() if identify(record) is not None]
        assert not left, f"still running after down: {left}\n{stopped.stdout}"
        assert upstack.running() == []


async def test_a_sigkilled_registry_comes_back_by_itself_and_no_request_is_lost(
    stack: None,
) -> None:
    # the stack is secured: play the agency with the driver's credentials file (its key too)
    driver = load_credentials(process_file(BROKER_DATA, DRIVER))
    transport = KafkaTransport("127.0.0.1:9092", security=driver.security_for(TEST_AGENCY))
    policy = RetryPolicy(retries=2, budget_floor=1000)  # resent on the same id after a deadline
    traffic = Traffic([AgencyClient(TEST_AGENCY, transport, Codec(Catalogue()), 20.0, policy)])
    await traffic.start()
    try:
        playing = asyncio.create_task(traffic.play(rate=RATE, count=COUNT))
        await wait_for_async(lambda: len(traffic.results) >= KILL_AFTER, 60, "answers under load")
        victim = pids()["registry"]
        os.kill(victim, signal.SIGKILL)

        def back() -> bool:
            now = pids().get("registry")
            return now not in (None, victim) and ready("service", "registry", 9101)

        back_after = await asyncio.to_thread(wait_for, back, RESTART_BOUND_S, "registry back")
        await asyncio.wait_for(playing, 300)
    finally:
        await traffic.stop()

    print(f"registry ready again {back_after:.1f}s after SIGKILL")
    row = registry_row()
    assert row.restarts == 1 and row.last_exit == "killed by SIGKILL", row
    restarts = sample(SUPERVISOR_PORT, "ndx_component_restarts_total", {"component": "registry"})
    assert restarts == 1.0
    ledger = traffic.ledger()
    assert ledger["sent"] == COUNT, ledger
    assert (ledger["lost"], ledger["timed_out"], ledger["incorrect"]) == (0, 0, 0), ledger
    assert ledger["answered"] == COUNT, ledger


def test_up_after_one_component_dies_restarts_only_that_one(stack: None) -> None:
    before = pids()
    os.kill(before["province"], signal.SIGKILL)
    wait_for(lambda: "province" not in pids(), 10, "the kill")

    # In this process, so `up` looks before the supervisor's own restart (a second away) is done.
    lines = upstack.up(None, DEMO_TOPOLOGY).lines()

    assert "restarted: province" in lines, lines
    assert any(
        line.startswith("already running: broker, registry, ministry, monitor, tax")
        for line in lines
    ), lines
    after = pids()
    assert after["province"] != before["province"]
    assert {k: v for k, v in after.items() if k != "province"} == {
        k: v for k, v in before.items() if k != "province"
    }
    assert "ndx_component_up" in scrape(SUPERVISOR_PORT)


def test_a_new_supervisor_adopts_what_runs_and_replaces_a_foreign_pid(
    stack: None, foreign: subprocess.Popen[bytes]
) -> None:
    before = pids()
    for name in ("supervisor", "registry"):  # both die; the registry's pid is then reused
        os.kill(before[name], signal.SIGKILL)
    wait_for(lambda: not {"supervisor", "registry"} & set(pids()), 10, "the kills")
    state = stackstate.load()
    assert state is not None
    planted = reused(foreign.pid, registry_row().process.cmdline)  # type: ignore[union-attr]
    rows = [
        r.model_copy(update={"process": planted}) if r.name == "registry" else r
        for r in state.components
    ]
    stackstate.save(state.model_copy(update={"components": rows}))

    status = ndxsim("status")
    again = ndxsim("up")

    assert status.returncode == 1 and f"stale pid {foreign.pid}" in status.stdout, status.stdout
    assert again.returncode == 0, again.stderr + again.stdout
    assert foreign.poll() is None, "up signalled a process the stack did not start"
    assert f"registry pid {foreign.pid} (now another process, not signalled)" in again.stdout
    assert "restarted: registry" in again.stdout
    after = pids()
    assert after["registry"] not in (foreign.pid, before["registry"])
    assert after["supervisor"] != before["supervisor"]
    kept = ("broker", "ministry", "province", "monitor", "tax")
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert ndxsim("status").returncode == 0
