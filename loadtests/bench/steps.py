"""The stepped series: each step a single-period scenario played by play_run() on one broker."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from loadtests.bench.cpu import Window, watch
from loadtests.bench.figures import WARM_UP_RATE, headline, step_rates, step_result
from loadtests.bench.model import BenchStep, Options, Role
from loadtests.bench.stepscenario import PERIOD, step_scenario
from loadtests.engine import BASELINE, RunFiles, play_run
from services.config import Clients, load_design, load_settings
from services.kafka import skip_to_end
from services.process import cancel
from services.security import REGISTRY, credentials_of
from services.wire import VERIFY

Played = tuple[Clients, int]  # a series: its clients' libraries, this many workers
NOISY_CORES = 0.5  # a failed step is played once more when others took this much CPU
REGISTRY_GROUP = "ndx.registry"
FIRST_GUESS_S = 15.0  # start-up and shutdown around a step, until one is measured


def clients_label(clients: Clients) -> str:
    """`librdkafka`, or `aiokafka-agencies-librdkafka` when the agencies have their own."""
    own = clients.agencies_apart()
    return clients.library if own is None else f"{clients.library}-agencies-{own}"


async def skip_backlog(bootstrap: str) -> int | None:
    """Move the registry group to the end of the request topic: no step inherits a backlog
    (as the registry, on a secured broker). None when the group is still busy: what the step
    inherits shows as late answers."""
    credentials = credentials_of(load_settings())
    security = credentials.security_for(REGISTRY) if credentials else None
    return await skip_to_end(bootstrap, REGISTRY_GROUP, VERIFY.name, security)


async def run_step(
    index: int,
    rate: float,
    role: Role,
    opts: Options,
    played: Played,
    bootstrap: str,
    broker: int,
    out: Path,
) -> BenchStep:
    """One single-period scenario played on the baseline design with the series' client
    libraries, its CPU window watched alongside."""
    clients, workers = played
    name = f"bench-{clients_label(clients)}-w{workers}-{index:02d}-{round(rate)}"
    seconds = opts.warm_up_s if role == "warm-up" else opts.step_seconds
    scenario = step_scenario(name, rate, seconds, opts.registries)
    skipped = await skip_backlog(bootstrap)
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=bootstrap)
    window = Window()
    watcher = asyncio.create_task(watch(name, PERIOD, broker, window))
    t0 = time.monotonic()
    try:
        design = load_design(BASELINE)
        design = design.model_copy(update={"clients": clients})
        report = await play_run(
            scenario,
            design,
            settings=settings,
            console=Console(quiet=True),
            runs_dir=out / "steps",
            files=RunFiles(design=BASELINE),
            workers=workers,
        )
    finally:
        await cancel([watcher])
    return step_result(rate, role, report, window).model_copy(
        update={
            "wall_s": round(time.monotonic() - t0, 1),
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "skipped_backlog": skipped,
        }
    )


def noisy(step: BenchStep) -> bool:
    """Other processes took enough of the machine during the step to spoil its verdict."""
    return step.cpu is not None and step.cpu.other_cores > NOISY_CORES


async def series(
    opts: Options,
    played: Played,
    bootstrap: str,
    broker: int,
    out: Path,
    deadline: float,
    report: Callable[[int, BenchStep], None],
) -> list[BenchStep]:
    """Warm-up, rising steps until one fails (twice if noisy), a refinement, then 80% of max."""
    steps: list[BenchStep] = []
    cost = opts.step_seconds + FIRST_GUESS_S

    def fits(n: int) -> bool:
        return time.monotonic() + n * cost <= deadline

    async def step(rate: float, role: Role) -> BenchStep:
        nonlocal cost
        result = await run_step(len(steps) + 1, rate, role, opts, played, bootstrap, broker, out)
        cost = max(cost, result.wall_s)
        steps.append(result)
        report(len(steps), result)
        return result

    last: BenchStep | None = None
    failed: float | None = None
    rates = step_rates(opts.max_rate, opts.quick)
    await step(min(WARM_UP_RATE, opts.max_rate), "warm-up")
    for rate in rates:
        if not fits(2):  # keep room for the step at 80%
            break
        result = await step(rate, "step")
        if not result.passed and noisy(result) and fits(2):
            result = await step(rate, "retry")
        if not result.passed:
            failed = rate
            break
        last = result
        if result.generator_bound:
            break
    if failed and last and not opts.quick and failed > 1.2 * last.offered_tps and fits(2):
        await step(round((failed + last.offered_tps) / 2, -2), "refine")
    top = headline(steps, None).max_sustained_tps
    if top and fits(1):
        await step(round(0.8 * top), "at-80%")
    return steps
