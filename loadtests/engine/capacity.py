"""The capacity search: the highest rate at which the scenario's SLOs still hold (the knee)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.markup import escape

from loadtests.engine.resolve import RunFiles, resolve
from loadtests.engine.run import play_run
from loadtests.measure import FILE_NAME
from loadtests.pages import write_html
from loadtests.report import CapacityResult, CapacityStep, RunReport, write_report
from loadtests.scenario import Diurnal, Period, Scenario
from loadtests.stack import RunStack
from services.config import Design, Settings, write_run_config
from services.security import credentials_of
from services.security.auditkey import audit_key

MIN_WARMUP_S = 20.0  # a fresh broker compiles its hot paths for its first half minute
STEPS_DIR = "step-records"  # each step's transaction record, until the search ends


@dataclass(frozen=True)
class Search:
    start_rate: float = 100.0
    factor: float = 1.5
    step_s: float = 15.0
    max_rate: float = 20_000.0
    refine: int = 3


def _step_summary(rate: float, report: RunReport) -> CapacityStep:
    phase = report.phases[0]
    return CapacityStep(
        rate=round(rate, 1),
        throughput_tps=phase.throughput_tps,
        p50_ms=phase.latency_ms.p50,
        p99_ms=phase.latency_ms.p99,
        timed_out=phase.timed_out,
        late_sends=phase.late_sends,
        lost=phase.lost,
        incorrect=phase.incorrect,
        passed=report.slo.passed,
        failed=report.slo.failed,
        limited_by=report.limited_by.side if report.limited_by else None,
        limited_reason=report.limited_by.reason if report.limited_by else None,
        incorrect_examples=list(phase.incorrect_examples),
        raced=phase.raced,
    )


def keep_step_record(run_dir: Path, step: int) -> None:
    """Each step's play writes the run folder's record anew: set this step's aside."""
    record = run_dir / FILE_NAME
    if record.exists():
        (run_dir / STEPS_DIR).mkdir(exist_ok=True)
        record.rename(run_dir / STEPS_DIR / f"{step:02d}.parquet")


def join_step_records(run_dir: Path) -> Path | None:
    """One record of the whole search, the steps in the order played (each row's `phase` names
    its step: its rate, or the first step's warm-up)."""
    parts = sorted((run_dir / STEPS_DIR).glob("*.parquet"))
    if not parts:
        return None
    target = run_dir / FILE_NAME
    pq.write_table(pa.concat_tables([pq.read_table(p) for p in parts]), target)
    for p in parts:
        p.unlink()
    (run_dir / STEPS_DIR).rmdir()
    return target


def knee_of(steps: list[CapacityStep], first_failing: float) -> str | None:
    """Whose knee: the side that limited the first failing step (the generator's or a mimic
    service's knee is not the design's)."""
    failing = [s for s in steps if not s.passed and abs(s.rate - round(first_failing, 1)) < 0.1]
    return failing[0].limited_by if failing else None


async def search(
    scenario: Scenario,
    design: Design,
    *,
    settings: Settings,
    runs_dir: Path,
    console: Console,
    how: Search = Search(),
    files: RunFiles | None = None,
    workers: int | None = None,
) -> RunReport:
    """Ramp the rate geometrically until an SLO fails, bisect, then measure at 80% of the knee:
    every step a run of play_run on one platform started for the search."""
    files = files or RunFiles()
    name = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{scenario.name}-capacity"
    run_dir = runs_dir / name
    resolved = resolve(scenario, design, files, settings, name, audit_key(settings))
    config = resolved.config
    config_path = write_run_config(config, run_dir / "run-config.json")
    # Latency counts from the intended send time, so a late generator already shows in the
    # latency SLOs; the scenario's own SLOs decide the knee.
    slo = scenario.slo
    steps: list[tuple[CapacityStep, RunReport]] = []
    stack = RunStack(
        run_dir, config, config_path, settings.kafka_bootstrap_servers, credentials_of(settings)
    )
    async with stack:

        async def step(rate: float) -> CapacityStep:
            label = f"{rate:.0f}/s"  # each row of the search's record names its step by it
            if any(r.phases[0].name == label for _, r in steps):
                label = f"{label} (step {len(steps) + 1})"
            period = Period(name=label, duration_s=how.step_s, rate_per_s=rate)
            # A flat profile, so a step plays the rate it names; the first step warms up.
            warmup = max(scenario.warmup_s, MIN_WARMUP_S) if not steps else 0.0
            changes = {"periods": [period], "slo": slo, "diurnal": Diurnal(), "warmup_s": warmup}
            report = await play_run(
                scenario.model_copy(update=changes),
                design,
                settings=settings,
                console=console,
                stack=stack,
                files=files,
                run_id=f"{name}-step-{len(steps) + 1:02d}",
                workers=workers,
            )
            summary = _step_summary(rate, report)
            steps.append((summary, report))
            await asyncio.to_thread(keep_step_record, run_dir, len(steps))
            verdict = "[green]holds[/]" if summary.passed else f"[red]fails {summary.failed}[/]"
            console.print(
                f"  {rate:8.0f}/s  {summary.throughput_tps:8.1f} tx/s  "
                f"p99 {summary.p99_ms:8.1f} ms  {verdict}  "
                f"limited by the {summary.limited_by}"
            )
            if report.limited_by is not None and report.limited_by.part is not None:
                console.print(f"            {escape(report.limited_by.reason)}")
            for ex in summary.incorrect_examples[:3]:
                said = f"{ex.request_id} ({ex.agency}, {ex.flow}): expected {ex.expected}, "
                console.print(
                    f"            [red]incorrect[/] {escape(said + ex.got)}: {escape(ex.why)}"
                )
            return summary

        good, bad, rate = 0.0, 0.0, how.start_rate
        while rate <= how.max_rate:
            if not (await step(rate)).passed:
                bad = rate
                break
            good, rate = rate, rate * how.factor
        for _ in range(how.refine if good and bad else 0):
            mid = (good + bad) / 2
            if (await step(mid)).passed:
                good = mid
            else:
                bad = mid
        at_80 = await step(0.8 * good) if good else None
    await asyncio.to_thread(join_step_records, run_dir)
    result = CapacityResult(
        knee=round(good, 1) if good else None,
        first_failing_rate=round(bad, 1) if bad else None,
        steps=[summary for summary, _ in steps],
        at_80_percent=at_80,
        knee_of=knee_of([s for s, _ in steps], bad),
    )
    # The page shows the last step played: the one at 80% of the knee when there is a knee.
    report = steps[-1][1].model_copy(update={"run_id": name, "capacity": result})
    write_report(run_dir, report)
    write_html(run_dir, report)
    return report
