"""One scenario run from file to report: stack up, play, account, measure, judge, write."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from loadtests.engine.faults import FaultRunner
from loadtests.engine.live import LiveView
from loadtests.engine.resolve import resolve
from loadtests.engine.runreport import add_workers, build_report
from loadtests.measure.cpumeter import CpuMeter
from loadtests.measure.growth import Meter, measured
from loadtests.measure.pressure import PressureMeter
from loadtests.measure.records import combine_records
from loadtests.pages.html import write_html
from loadtests.report import DesignReport, RunReport
from loadtests.report.files import write_report
from loadtests.scenario.plan import Plan, new_run_id, prepare
from loadtests.stack.platform import RunStack
from loadtests.workers.coordinator import Coordinator
from loadtests.workers.spawn import LocalWorkers, default_workers
from services.config.runconfig import RunConfig, write_run_config
from services.config.settings import Settings
from services.kafka.bus import ClientTuning, KafkaTransport
from services.security.access import DRIVER
from services.security.auditkey import audit_key
from services.security.credentials import credentials_of


async def play(
    plan: Plan,
    config: RunConfig,
    stack: RunStack,
    bootstrap: str,
    settings: Settings,
    console: Console,
    live: bool,
    workers: int | None = None,
    local_workers: int | None = None,
) -> RunReport:
    """Play the plan's periods on a running stack through `workers` worker processes, of which
    `local_workers` (all by default) are started here and the others join from anywhere;
    returns the report (not yet written)."""
    scenario = plan.scenario
    started_at = datetime.now(UTC)
    tuning = ClientTuning.of(config.design, settings.connect_timeout_s)
    n = min(workers or default_workers(), len(plan.agencies))  # a share holds one agency at least
    here = n if local_workers is None else min(local_workers, n)
    control = KafkaTransport(bootstrap, tuning, stack.security(DRIVER))
    env = worker_env(stack, settings, bootstrap)
    local = LocalWorkers(stack.run_dir, config.run_id, here, env)
    record = stack.run_dir if settings.transaction_record else None
    coordinator = Coordinator(
        scenario, plan.agencies, config, control, n, local if here else None, record
    )
    meter = Meter(stack.ports("registry"), stack.ports("monitor"))
    pressure = PressureMeter(stack.ports("registry"), coordinator.timeline)
    # A poison flood is written as a played agency: only agencies may write request topics.
    flooder = KafkaTransport(bootstrap, tuning, stack.security(plan.agencies[0].agency))
    faults = FaultRunner(scenario, stack, flooder)
    faults.driver = coordinator
    cpu = CpuMeter(lambda: {"driver": [os.getpid()], "worker": local.pids(), **stack.pids()})
    try:
        await coordinator.start()
        await meter.start()
        await pressure.start()
        await cpu.start()
        view = LiveView(coordinator, console) if live else None
        with view if view is not None else contextlib.nullcontext():
            await meter.mark(await coordinator.warm_up())
            cpu.mark()
            t0 = time.monotonic()
            ledgers = await coordinator.play(meter.mark, faults.period_started)
            cpu.mark()
            await faults.finish()
            elapsed = time.monotonic() - t0
    finally:
        await cpu.stop()
        await pressure.stop()
        await meter.stop()
        await coordinator.stop()
        await asyncio.to_thread(local.stop)
        await asyncio.to_thread(combine_records, stack.run_dir)
    report = build_report(
        scenario,
        plan.path,
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
    add_workers(report, coordinator, {k: len(v) for k, v in stack.pids().items()})
    return report


def worker_env(stack: RunStack, settings: Settings, bootstrap: str) -> dict[str, str]:
    """What a local worker needs: the cluster, and its identities when the cluster is secured."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    secrets = stack.files.get(DRIVER) or settings.credentials
    if stack.credentials is not None and secrets is not None:
        env["NDX_CREDENTIALS"] = str(secrets)
    return env


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
    """Resolve the run once, start its platform, play it, write its report."""
    plan = prepare(scenario_path)
    key = audit_key(settings)  # generated or refused now, before anything starts
    run_id = run_id or new_run_id(plan.scenario)
    resolved = resolve(
        plan.scenario, plan.path, plan.topology_path, settings, run_id, key, design_path
    )
    config = resolved.config
    run_dir = runs_dir / run_id
    config_path = write_run_config(config, run_dir / "run-config.json")
    given = settings.kafka_bootstrap_servers
    console.print(
        f"[bold]ndxsim[/] {plan.scenario.name} on design {config.design.name}: "
        f"{len(plan.agencies)} agencies, {len(plan.scenario.periods)} period(s), "
        f"broker {given or 'local (starting)'}"
    )
    stack = RunStack(run_dir, config, config_path, given, credentials_of(settings))
    async with stack as bootstrap:
        report = await play(
            plan, config, stack, bootstrap, settings, console, live, workers, local_workers
        )
    report.design = DesignReport.of(config.design, str(resolved.design_file), resolved.notes)
    write_report(run_dir, report)
    write_html(run_dir, report)
    return report


def run_blocking(
    scenario_path: Path,
    runs_dir: Path,
    settings: Settings,
    console: Console,
    live: bool = True,
    design_path: Path | None = None,
    workers: int | None = None,
    local_workers: int | None = None,
) -> RunReport:
    return asyncio.run(
        execute(
            scenario_path,
            runs_dir,
            settings,
            console,
            live,
            design_path,
            workers=workers,
            local_workers=local_workers,
        )
    )
