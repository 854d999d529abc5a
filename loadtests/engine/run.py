"""The one way a run is played: a typed scenario on a typed design, stack up (or given), play,
account, measure, judge, write."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from loadtests.cluster import ThrottleMeter
from loadtests.engine.faults import FaultRunner
from loadtests.engine.live import LiveView
from loadtests.engine.resolve import RunFiles, read_inputs, resolve
from loadtests.engine.runreport import add_bulk, add_workers, build_report
from loadtests.measure import CpuMeter, Meter, PressureMeter, combine_records, measured
from loadtests.pages import write_html
from loadtests.play import BulkRunner
from loadtests.report import DesignReport, RunReport, ThrottleReport, write_report
from loadtests.scenario import PlayedAgency, Scenario, new_run_id, played_agencies
from loadtests.stack import RunStack, StackError
from loadtests.workers import Coordinator, LocalWorkers, default_workers
from services.config import Design, RunConfig, Settings, write_run_config
from services.kafka.bus import ClientTuning
from services.kafka.choice import transport_for
from services.security import DRIVER, credentials_of
from services.security.auditkey import audit_key
from services.wire import Catalogue, Codec
from services.world import Population, load_topology

__all__ = ["RUNS_DIR", "execute", "play_run", "worker_env"]

RUNS_DIR = Path("runs")
# The brokers' exporters read every MBean on each scrape: every 2 s is enough for a throttle
# averaged over the quota's window (about a minute), at half the brokers' cost.
THROTTLE_EVERY_S = 2.0


async def _play(
    scenario: Scenario,
    agencies: list[PlayedAgency],
    scenario_file: str,
    config: RunConfig,
    stack: RunStack,
    bootstrap: str,
    settings: Settings,
    console: Console,
    live: bool,
    workers: int | None,
    local_workers: int | None,
) -> RunReport:
    """Play the scenario's periods on a running stack through `workers` worker processes, of
    which `local_workers` (all by default) are started here and the others join from anywhere;
    returns the report (not yet written)."""
    started_at = datetime.now(UTC)
    tuning = ClientTuning.of(config.design, settings.connect_timeout_s)
    n = min(workers or default_workers(), len(agencies))  # a share holds one agency at least
    here = n if local_workers is None else min(local_workers, n)
    control = transport_for(bootstrap, tuning, stack.security(DRIVER))
    env = worker_env(stack, settings, bootstrap)
    local = LocalWorkers(stack.run_dir, config.run_id, here, env)
    record = stack.run_dir if settings.transaction_record else None
    coordinator = Coordinator(
        scenario, agencies, config, control, n, local if here else None, record
    )
    meter = Meter(
        stack.ports("registry"),
        stack.ports("monitor"),
        tax_ports=stack.ports("tax"),
        bulk_lane_ports=stack.bulk_lane_ports(),
    )
    pressure = PressureMeter(stack.ports("registry"), coordinator.timeline)
    # A poison flood is written as a played agency: only agencies may write request topics.
    played = ClientTuning.of(config.design, settings.connect_timeout_s, "agencies")
    flooder = transport_for(bootstrap, played, stack.security(agencies[0].agency))
    faults = FaultRunner(scenario, stack, flooder)
    faults.coordinator = coordinator
    bulk = BulkRunner(
        scenario,
        load_topology(Path(config.topology_file)),
        config.seed,
        config.run_id,
        lambda principal: transport_for(bootstrap, played, stack.security(principal)),
        Codec(Catalogue()),
        Population(config.seed),
    )

    def period_started(period: str) -> None:
        faults.period_started(period)
        bulk.period_started(period)

    throttle = ThrottleMeter(stack.exporter_urls(), every_s=THROTTLE_EVERY_S)
    cpu = CpuMeter(lambda: {"driver": [os.getpid()], "worker": local.pids(), **stack.pids()})
    try:
        await coordinator.start()
        await bulk.start()
        await throttle.start()
        await meter.start()
        await pressure.start()
        await cpu.start()
        view = LiveView(coordinator, console) if live else None
        with view if view is not None else contextlib.nullcontext():
            await meter.mark(await coordinator.warm_up())
            cpu.mark()
            t0 = time.monotonic()
            ledgers = await coordinator.play(meter.mark, period_started)
            cpu.mark()
            await faults.finish()
            await bulk.finish()
            answered = bulk.answered()
            counted = await meter.now(
                lambda snap: min(sum(snap.bulk_by_lane.values()), snap.reconciled) >= answered
            )
            elapsed = time.monotonic() - t0
    finally:
        await cpu.stop()
        await pressure.stop()
        await meter.stop()
        await throttle.stop()
        await bulk.stop()
        await coordinator.stop()
        await asyncio.to_thread(local.stop)
        await asyncio.to_thread(combine_records, stack.run_dir)
    report = build_report(
        scenario,
        scenario_file,
        config.run_id,
        started_at,
        elapsed,
        coordinator,
        ledgers,
        measured(scenario, ledgers, meter),
        bootstrap,
    )
    report.faults = list(faults.log)
    report.seed = config.seed
    report.cpu = cpu.report(report.totals.answered)
    report.hops = coordinator.hops.report()
    if scenario.bulk:
        throttled = [
            ThrottleReport(
                principal=f.principal,
                kind=f.kind,
                peak_ms=round(f.peak_ms, 1),
                mean_ms=round(f.mean_ms, 1),
                seconds_throttled=f.seconds_throttled,
            )
            for f in throttle.figures()
            if f.principal in config.design.bulk.quotas or f.peak_ms > 0
        ]
        add_bulk(report, scenario, config.design.bulk, bulk.reports(), counted, throttled)
    add_workers(report, coordinator, {k: len(v) for k, v in stack.pids().items()})
    return report


def worker_env(stack: RunStack, settings: Settings, bootstrap: str) -> dict[str, str]:
    """What a local worker needs: the cluster, and its identities when the cluster is secured."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    secrets = stack.files.get(DRIVER) or settings.credentials
    if stack.credentials is not None and secrets is not None:
        env["NDX_CREDENTIALS"] = str(secrets)
    return env


async def play_run(
    scenario: Scenario,
    design: Design,
    *,
    settings: Settings,
    console: Console,
    runs_dir: Path = RUNS_DIR,
    stack: RunStack | None = None,
    files: RunFiles | None = None,
    run_id: str | None = None,
    live: bool = False,
    workers: int | None = None,
    local_workers: int | None = None,
) -> RunReport:
    """Play `scenario` on `design` and return its report; every input is checked (ScenarioError,
    TopologyError, SettingsError naming the file or variable) before anything starts.

    Without `stack`, the run starts its own platform, plays in runs_dir/<run id>/ and writes its
    report there. On a `stack` already running, which must run this design, it plays in the
    stack's folder and leaves writing to whoever started the stack. `files` names what the
    scenario and design were read from, when they were."""
    files = files or RunFiles()
    topology_path = files.topology(scenario)
    topology = load_topology(topology_path)
    agencies = played_agencies(scenario, topology, Path(files.where(scenario)))
    key = audit_key(settings)  # generated or refused now, before anything starts
    run_id = run_id or new_run_id(scenario)
    resolved = resolve(scenario, design, files, settings, run_id, key)
    config = resolved.config
    scenario_file = str(files.scenario) if files.scenario is not None else ""
    own = stack is None
    async with contextlib.AsyncExitStack() as started:
        if stack is None:
            stack = _platform(scenario, config, runs_dir, settings, len(agencies), console)
            bootstrap = await started.enter_async_context(stack)
        elif stack.bootstrap is not None and stack.design == config.design:
            bootstrap = stack.bootstrap
        else:
            raise StackError(f"run {run_id}: the stack given is not running design {design.name}")
        report = await _play(
            scenario,
            agencies,
            scenario_file,
            config,
            stack,
            bootstrap,
            settings,
            console,
            live,
            workers,
            local_workers,
        )
    report.design = DesignReport.of(config.design, resolved.design_file, resolved.notes)
    if own:
        write_report(stack.run_dir, report)
        write_html(stack.run_dir, report)
    return report


def _platform(
    scenario: Scenario,
    config: RunConfig,
    runs_dir: Path,
    settings: Settings,
    agencies: int,
    console: Console,
) -> RunStack:
    """The run's own platform, not yet started, its configuration written to its folder."""
    run_dir = runs_dir / config.run_id
    config_path = write_run_config(config, run_dir / "run-config.json")
    given = settings.kafka_bootstrap_servers
    console.print(
        f"[bold]ndxsim[/] {scenario.name} on design {config.design.name}: "
        f"{agencies} agencies, {len(scenario.periods)} period(s), "
        f"broker {given or 'local (starting)'}"
    )
    return RunStack(
        run_dir, config, config_path, given, credentials_of(settings), bulk=bool(scenario.bulk)
    )


async def execute(
    scenario_path: Path,
    runs_dir: Path,
    settings: Settings,
    console: Console,
    live: bool = True,
    design_path: Path | None = None,
    run_id: str | None = None,
    workers: int | None = None,
    local_workers: int | None = None,
) -> RunReport:
    """A scenario file played on a design file (the baseline when none is given): the files
    read, then the run played by play_run."""
    inputs = read_inputs(scenario_path, design_path, settings)
    return await play_run(
        inputs.scenario,
        inputs.design,
        settings=settings,
        console=console,
        runs_dir=runs_dir,
        files=inputs.files,
        run_id=run_id,
        live=live,
        workers=workers,
        local_workers=local_workers,
    )
