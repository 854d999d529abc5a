"""The benchmark's figures: the producer tool's summary, step verdicts and the headline."""

from __future__ import annotations

import re

from loadtests.bench.cpu import Window, cpu_per_transaction
from loadtests.bench.model import (
    At80,
    BenchStep,
    CpuPerTransaction,
    Headline,
    HeadlineCheck,
    ProducerRun,
    Role,
    ToolLatency,
)
from loadtests.report import RunReport

NATIONAL_DAY_2024 = 2_800_000  # transactions in a national day of 2024 (DESIGN.md)
FIRST_TARGET_TPS, AIM_TPS, P99_SLO_MS = 4_000, 10_000, 250.0
CPU_TARGET_MS, LIGHT_RATE, FLOOR_FACTOR = 0.4, 250.0, 3.0  # CPU per transaction; p50 at 250/s
SIMULATOR_TO_BROKER = 1.5  # the agencies, registry and monitor may cost this much of the broker
SUSTAINED_SHARE = 0.95
LATE_SHARE = 0.5  # over half the sends left late: the generator, not the system, sets the pace
# 250/s is the light step the p50 target is judged at; then 1,000/s apart up to the first target
RATES = (250, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12500, 15000, 20000)
QUICK_RATES = (250, 500, 1000, 2000, 4000)
WARM_UP_RATE = 500.0
_SUMMARY = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99.9th"
)


class BenchError(RuntimeError):
    """A part of the benchmark could not run; the message says which."""


def parse_producer_performance(output: str) -> ProducerRun:
    """The tool's final summary line as numbers (its interim lines carry no percentiles)."""
    found = list(_SUMMARY.finditer(output))
    if not found:
        raise BenchError(f"no ProducerPerformance summary in its output:\n{output[-500:]}")
    g = found[-1].groupdict()
    return ProducerRun(
        records=int(g["records"]),
        records_per_s=float(g["rps"]),
        mb_per_s=float(g["mbps"]),
        latency_ms=ToolLatency(
            **{k: float(g[k]) for k in ("avg", "p50", "p95", "p99", "p999", "max")}
        ),
    )


def judge(step: BenchStep) -> list[str]:
    """Why a step is not sustained; empty when it is."""
    reasons = []
    if step.achieved_tps < SUSTAINED_SHARE * step.offered_tps:
        reasons.append(f"achieved {step.achieved_tps / step.offered_tps:.0%} of offered")
    if step.p99_ms > P99_SLO_MS:
        reasons.append(f"p99 {step.p99_ms:.0f} ms > {P99_SLO_MS:.0f}")
    for name, count in (
        ("timed out", step.timed_out),
        ("lost", step.lost),
        ("incorrect", step.incorrect),
    ):
        if count:
            reasons.append(f"{count} {name}")
    return reasons


def step_result(rate: float, role: Role, report: RunReport, window: Window) -> BenchStep:
    """One step's figures from its run report and CPU window."""
    phase = report.phases[0]
    step = BenchStep(
        role=role,
        offered_tps=rate,
        achieved_tps=phase.throughput_tps,
        p50_ms=phase.latency_ms.p50,
        p99_ms=phase.latency_ms.p99,
        sent=phase.sent,
        answered=phase.answered,
        timed_out=phase.timed_out,
        lost=phase.lost,
        incorrect=phase.incorrect,
        late_send_share=round(phase.late_sends / max(phase.sent, 1), 4),
        late_answers=report.late_answers,
        limited_by=report.limited_by.side if report.limited_by is not None else None,
        run_id=report.run_id,
    )
    if window.start is not None and window.end is not None:
        step.cpu = cpu_per_transaction(window.start, window.end, phase.sent)
    return judged(step)


def judged(step: BenchStep) -> BenchStep:
    """The step with its verdict: the reasons it is not sustained, and who set the pace."""
    reasons = judge(step)
    return step.model_copy(
        update={
            "reasons": reasons,
            "passed": not reasons,
            "generator_bound": step.late_send_share > LATE_SHARE,
        }
    )


def headline(
    steps: list[BenchStep], ceiling_rps: float | None, floor_avg_ms: float | None = None
) -> Headline:
    """Maximum sustained rate, figures at 80% of it, ratio to the raw ceiling, and verdicts."""
    passed = [s for s in steps if s.passed and s.role in ("step", "retry", "refine")]
    top = max(passed, key=lambda s: s.offered_tps, default=None)
    best = float(top.achieved_tps) if top else 0.0
    at80 = next((s for s in steps if s.role == "at-80%"), None)
    cpu = at80.cpu.total_ms if at80 is not None and at80.cpu is not None else None
    ratio = simulator_to_broker(at80.cpu) if at80 is not None and at80.cpu is not None else None
    light = next((s for s in steps if s.role == "step" and s.offered_tps == LIGHT_RATE), None)
    near_floor = (
        light is not None
        and floor_avg_ms is not None
        and light.p50_ms <= FLOOR_FACTOR * 2 * floor_avg_ms
    )
    offered = top.offered_tps if top else 0.0  # a sustained step achieved >= 95% of it
    checks = [
        (
            f"a step of >= {FIRST_TARGET_TPS:,} verifications/s sustained",
            offered >= FIRST_TARGET_TPS,
        ),
        ("p99 <= 250 ms, no timeouts, at 80% of max", at80 is not None and not judge(at80)),
        (
            f"CPU per transaction <= {CPU_TARGET_MS} ms at 80% of max",
            cpu is not None and cpu <= CPU_TARGET_MS,
        ),
        (
            f"simulator CPU (workers + registry + monitor) <= {SIMULATOR_TO_BROKER:g} x the "
            "broker's at 80% of max",
            ratio is not None and ratio <= SIMULATOR_TO_BROKER,
        ),
        (
            f"p50 at {LIGHT_RATE:.0f}/s <= {FLOOR_FACTOR:g} x two Kafka hops (EndToEndLatency)",
            near_floor,
        ),
        ("aim: a step of >= 10,000/s sustained (a national day in < 5 min)", offered >= AIM_TPS),
    ]
    return Headline(
        max_sustained_tps=best,
        max_step_offered_tps=top.offered_tps if top else None,
        at_80pct=None
        if at80 is None
        else At80(
            offered_tps=at80.offered_tps,
            achieved_tps=at80.achieved_tps,
            p50_ms=at80.p50_ms,
            p99_ms=at80.p99_ms,
        ),
        ratio_to_raw_ceiling=round(best / ceiling_rps, 4) if ceiling_rps and best else None,
        national_day_minutes=round(NATIONAL_DAY_2024 / best / 60, 1) if best else None,
        checks=[HeadlineCheck(name=n, result="PASS" if ok else "MISS") for n, ok in checks],
    )


def simulator_to_broker(cpu: CpuPerTransaction) -> float | None:
    """What the simulated side (workers, registry, other services) spends per transaction for
    each CPU-ms the broker spends; None when the broker's share was not measured."""
    simulated = cpu.driver_ms + cpu.registry_ms + sum(cpu.other_services_ms.values())
    return round(simulated / cpu.broker_ms, 2) if cpu.broker_ms > 0 else None


def step_rates(max_rate: float, quick: bool) -> list[float]:
    """The stepped series up to max_rate, ending on max_rate itself."""
    return [*(r for r in (QUICK_RATES if quick else RATES) if r < max_rate), max_rate]
