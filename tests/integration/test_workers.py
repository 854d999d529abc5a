"""Load played by worker OS processes joined through the cluster, merged by the coordinator."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from rich.console import Console

from loadtests.engine.run import execute
from loadtests.measure.ledger import decode, latency_summary, new_histogram
from loadtests.workers.results import DEAD_AFTER_S
from services.config.settings import load_settings
from tests.support.libraries import design_on, each_library
from tests.support.waiting import wait_for_async

REPO = Path(__file__).resolve().parents[2]
GROWTH = """
name: two-workers
topology: {topology}
agencies: [province.001, province.079, province.092, ministry.vss, ministry.justice]
timeout_s: 15
warmup_s: 3
periods:
  - {{name: before, duration_s: 5, rate_per_s: 60, online_share: 0.2}}
  - {{name: after, baseline: before, growth: 0.5, duration_s: 5, online_share: 0.4}}
mix: {{verify: 0.7, lookup: 0.1, dossier: 0.15, death: 0.05}}
errors: {{wrong_name: 0.05, unknown_id: 0.05}}
"""
AGENCIES = {"province.001", "province.079", "province.092", "ministry.vss", "ministry.justice"}
LONG_S = 10  # long enough that a worker killed 3 s in leaves most of its share unsent
LONG = f"""
name: worker-dies
topology: {{topology}}
agencies: [province.001, province.079, province.092, ministry.vss]
timeout_s: 10
periods:
  - {{{{name: long, duration_s: {LONG_S}, rate_per_s: 40}}}}
"""
# The scenario: a worker dies this far into the period, with some of its share sent, some of it
# in flight and the rest not yet sent.
KILLED_AFTER_S = 3.0


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text.format(topology=REPO / "loadtests/topologies/demo.yaml"))
    return path


@each_library
async def test_two_worker_processes_play_exact_growth_and_their_histograms_merge_exactly(
    kafka_bootstrap: str, tmp_path: Path, library: str
) -> None:
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    report = await execute(
        _scenario(tmp_path, GROWTH),
        tmp_path / "runs",
        settings,
        Console(quiet=True),
        live=False,
        design_path=design_on(library, tmp_path),
        workers=2,
    )
    assert (report.totals.lost, report.totals.incorrect, report.totals.timed_out) == (0, 0, 0)
    assert len(report.workers) == 2
    assert all(w.finished and w.pid != os.getpid() for w in report.workers)
    assert {a for w in report.workers for a in w.agencies} == AGENCIES
    assert not set(report.workers[0].agencies) & set(report.workers[1].agencies)
    assert sum(w.sent for w in report.workers) == report.totals.sent + report.warmup.sent
    assert report.growth is not None and report.growth.measured is not None
    assert abs(report.growth.measured - 0.5) <= 0.005, report.growth
    assert report.growth.driver is not None and abs(report.growth.driver - 0.5) <= 0.005
    for phase in report.phases:
        merged = new_histogram()
        for w in report.workers:
            merged.add(decode(w.histograms[phase.name]))
        assert merged.get_total_count() == phase.answered
        assert phase.latency_ms == latency_summary(merged)
    assert report.limited_by is not None


def _worker_playing(runs: Path) -> str | None:
    """The run whose worker 1 plays its first period, once it does."""
    logs = runs.glob("*/logs/worker-1.log")
    return next(
        (p.parts[-3] for p in logs if "plays period 1" in p.read_text("utf-8", "replace")), None
    )


async def _kill_first_worker_mid_period(runs: Path) -> int:
    """SIGKILL worker 1 a few seconds after it began playing the period."""
    await wait_for_async(lambda: _worker_playing(runs), 180, "worker 1 playing its period")
    run_id = _worker_playing(runs)
    await asyncio.sleep(KILLED_AFTER_S)  # the scenario: mid-period, see KILLED_AFTER_S
    victim = next(  # this run's worker 1, whatever else this test process has started
        p for p in psutil.Process().children(recursive=True) if f"{run_id}-w1" in p.cmdline()
    )
    os.kill(victim.pid, signal.SIGKILL)
    return victim.pid


async def test_a_worker_killed_mid_run_is_named_and_every_request_it_owned_is_accounted(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    runs = tmp_path / "runs"
    playing = asyncio.create_task(
        execute(
            _scenario(tmp_path, LONG), runs, settings, Console(quiet=True), live=False, workers=2
        )
    )
    killed = await _kill_first_worker_mid_period(runs)
    killed_at = time.monotonic()
    report = await playing
    # the period's end (at most LONG_S away) plus the death bound, with a wide margin
    assert time.monotonic() - killed_at < LONG_S + DEAD_AFTER_S + 30
    dead = [w for w in report.workers if not w.finished]
    assert [w.pid for w in dead] == [killed]
    w = dead[0]
    assert w.sent + w.not_sent == w.planned > 0
    assert w.answered + w.timed_out + w.unaccounted == w.sent
    assert any(w.name in text and "died" in text for text in report.warnings)
    survivor = next(x for x in report.workers if x.finished)
    assert survivor.unaccounted == 0
    phase = report.phases[0]
    assert phase.sent == survivor.sent + w.sent
    assert phase.lost == w.unaccounted
    assert phase.incorrect == 0


def _says(log: Path, text: str) -> bool:
    return text in log.read_text(errors="replace")


def _start_remote(bootstrap: str, run_id: str, log: Path) -> subprocess.Popen[bytes]:
    """`ndxsim worker` as a user starts it on another machine: nothing ties it to the run."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "loadtests", "worker", "--run", run_id, "--name", "remote"],
            env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap},
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def test_a_worker_from_another_machine_that_dies_is_found_through_its_consumer_group(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """No pid to watch: the coordinator learns of the death from Kafka's group protocol."""
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    run_id = f"remote-worker-{os.getpid()}-{time.time_ns()}"
    log = tmp_path / "remote.log"
    remote = _start_remote(kafka_bootstrap, run_id, log)
    try:
        playing = asyncio.create_task(
            execute(
                _scenario(tmp_path, LONG),
                tmp_path / "runs",
                settings,
                Console(quiet=True),
                live=False,
                run_id=run_id,
                workers=2,
                local_workers=1,
            )
        )
        await wait_for_async(
            lambda: _says(log, "plays period 1"), 180, "the remote worker playing its period"
        )
        await asyncio.sleep(KILLED_AFTER_S)  # the scenario: mid-period, see KILLED_AFTER_S
        remote.kill()
        killed_at = time.monotonic()
        report = await playing
    finally:
        if remote.poll() is None:
            remote.kill()
        remote.wait(10)
    assert time.monotonic() - killed_at < LONG_S + DEAD_AFTER_S + 30
    dead = [w for w in report.workers if not w.finished]
    assert [(w.name, w.pid) for w in dead] == [("remote", remote.pid)]
    w = dead[0]
    assert w.sent + w.not_sent == w.planned > 0
    assert w.answered + w.timed_out + w.unaccounted == w.sent
    assert any("remote" in text and "consumer group" in text for text in report.warnings)
    survivor = next(x for x in report.workers if x.finished)
    assert survivor.unaccounted == 0
    assert report.phases[0].incorrect == 0
