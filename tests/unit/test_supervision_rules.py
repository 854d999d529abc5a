"""Rules of the supervised stack: backoff, process identity, what `up` says, the restart loop."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from loadtests.cluster.procs import (
    ProcessRecord,
    describe_exit,
    identify,
    read_pidfile,
    record_of,
    terminate,
    wait_gone,
    write_pidfile,
)
from loadtests.stack import status as stackstatus
from loadtests.stack.components import Component, agencies_of
from loadtests.stack.state import ComponentState, Phase, StackState
from loadtests.stack.supervisor import Backoff, Keeper
from loadtests.stack.up import StackChanges


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_backoff_doubles_up_to_its_cap_and_resets_after_a_long_enough_run() -> None:
    backoff = Backoff(initial_s=1.0, factor=2.0, cap_s=5.0, reset_after_s=60.0)
    delays = [backoff.next_delay(uptime_s=0.5) for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.next_delay(uptime_s=61.0) == 1.0
    assert backoff.next_delay(uptime_s=1.0) == 2.0


def test_a_live_process_is_identified_by_its_own_record(sleeper: subprocess.Popen[bytes]) -> None:
    record = record_of(sleeper.pid)
    assert record.cmdline == ("sleep", "600")
    found = identify(record)
    assert found is not None and found.pid == sleeper.pid


def test_a_reused_pid_is_not_trusted(sleeper: subprocess.Popen[bytes]) -> None:
    record = record_of(sleeper.pid)
    older = record.model_copy(update={"create_time": record.create_time - 3600})
    other_command = record.model_copy(update={"cmdline": (sys.executable, "-m", "x")})
    assert identify(older) is None
    assert identify(other_command) is None


def test_an_ended_process_is_not_identified_even_before_it_is_reaped() -> None:
    proc = subprocess.Popen(["sleep", "600"])
    record = record_of(proc.pid)
    proc.kill()
    deadline = time.monotonic() + 10
    while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE:  # not reaped: a zombie
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert identify(record) is None
    proc.wait()
    assert identify(record) is None


def test_a_bare_pid_file_is_not_a_record(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    bare, full = tmp_path / "bare.pid", tmp_path / "full.pid"
    bare.write_text(f"{sleeper.pid}\n")
    write_pidfile(full, record_of(sleeper.pid))
    assert read_pidfile(bare) is None
    assert read_pidfile(full) == record_of(sleeper.pid)


def test_terminate_stops_a_process_and_says_how(sleeper: subprocess.Popen[bytes]) -> None:
    record = record_of(sleeper.pid)
    found = identify(record)
    assert found is not None
    assert terminate(found, 10.0) == "stopped"  # SIGTERM sufficed
    assert identify(record) is None


def test_terminate_kills_a_process_that_ignores_sigterm() -> None:
    code = "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True)"
    stubborn = subprocess.Popen(
        [sys.executable, "-c", code + "; time.sleep(600)"], stdout=subprocess.PIPE
    )
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline()  # SIGTERM is ignored
        found = identify(record_of(stubborn.pid))
        assert found is not None
        assert terminate(found, 0.5) == "killed (SIGKILL after 0.5s)"
    finally:
        stubborn.kill()
        stubborn.wait()


def test_a_sigkilled_child_with_threads_is_reported_as_killed_not_as_unknown() -> None:
    code = (
        "import threading,time; [threading.Thread(target=time.sleep, args=(600,)).start() "
        "for _ in range(8)]; print(1, flush=True); time.sleep(600)"
    )
    for _ in range(30):  # its zombie leader shows before the last thread ends: wait for the code
        child = psutil.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline()
        child.kill()
        deadline = time.monotonic() + 10
        while not (found := wait_gone(child, 0))[0]:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        assert describe_exit(found[1]) == "killed by SIGKILL"


def test_exits_are_described_by_code_or_signal() -> None:
    assert describe_exit(0) == "exit 0"
    assert describe_exit(3) == "exit 3"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert "unknown" in describe_exit(None)


def test_each_requester_process_hosts_the_listed_agencies_of_its_kind() -> None:
    listed = "ministry.vss, province.001,ministry.tax,province.079"
    assert agencies_of("ministry", listed) == "ministry.vss,ministry.tax"
    assert agencies_of("province", listed) == "province.001,province.079"


def test_up_says_what_it_did() -> None:
    unchanged = StackChanges(running=["broker", "registry"]).lines()
    assert unchanged == ["already up: broker, registry; nothing changed"]
    partial = StackChanges(
        started=["monitor"],
        restarted=["registry"],
        running=["broker"],
        stale=["registry pid 7 (ended)"],
    ).lines()
    assert partial == [
        "stale entry removed: registry pid 7 (ended)",
        "started: monitor",
        "restarted: registry",
        "already running: broker",
    ]


def test_status_shows_a_stale_pid_as_down(sleeper: subprocess.Popen[bytes]) -> None:
    stale = record_of(sleeper.pid).model_copy(update={"cmdline": ("python", "-m", "x")})
    row = ComponentState(
        name="registry",
        probe="service",
        probe_port=1,
        ports=(1,),
        urls=(),
        process=stale,
        restarts=2,
        last_exit="exit 1",
    )
    rows = stackstatus.rows(StackState(supervisor=stale, bootstrap="b", components=[row]))
    assert [(r.name, r.state, r.pid) for r in rows] == [
        ("supervisor", "down", None),
        ("registry", f"down (stale pid {sleeper.pid})", None),
    ]
    assert not any(r.up for r in rows)


class Host:
    """The supervisor's side of a keeper, recording what the keeper reports."""

    def __init__(self) -> None:
        self.stopping, self.broker_ready = threading.Event(), threading.Event()
        self.broker_ready.set()
        self.exits: list[tuple[str, float]] = []

    def launch(self, component: Component) -> psutil.Process | None:
        return psutil.Popen(component.command())

    def set_phase(self, name: str, phase: Phase) -> None:
        pass

    def broker_serving(self) -> None:
        self.broker_ready.set()

    def exited(self, name: str, how: str, delay_s: float) -> None:
        self.exits.append((how, delay_s))
        if len(self.exits) == 3:
            self.stopping.set()


def test_a_component_that_keeps_dying_is_restarted_with_growing_delays() -> None:
    host = Host()
    dies = Component("flaky", "service", 1, lambda: [sys.executable, "-c", "exit(3)"], (), ())
    keeper = Keeper(dies, host, adopted=None)
    keeper.backoff = Backoff(initial_s=0.1, factor=2.0, cap_s=1.0)
    keeper.start()
    keeper.join(30)
    assert not keeper.is_alive()
    assert host.exits == [("exit 3", 0.1), ("exit 3", 0.2), ("exit 3", 0.4)]


def test_a_record_is_what_a_state_file_holds() -> None:
    record = ProcessRecord(pid=1, create_time=2.5, cmdline=("a", "b"))
    assert ProcessRecord.model_validate_json(record.model_dump_json()) == record
