"""Run reports made up for tests of the report's model and page, shaped like real runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from loadtests.reportmodel import (
    CapacityResult,
    CapacityStep,
    FaultRecord,
    Growth,
    Latency,
    OnlineShare,
    PhaseReport,
    RunReport,
    SloCheck,
    SloVerdict,
    TimelineSecond,
    Totals,
)

FLOWS = ("verify", "lookup")


def lat(p50: float, spread: float = 5.0) -> Latency:
    return Latency(p50=p50, p95=p50 * spread / 2, p99=p50 * spread, max=p50 * spread * 2)


def phase(name: str, rate: float, seconds: int, answered: int, share: float | None) -> PhaseReport:
    flows = {"verify": answered - answered // 5, "lookup": answered // 5}
    outcomes = {
        "MATCH": answered - 60,
        "MISMATCH": 20,
        "NOT_FOUND": 20,
        "DECEASED": 10,
        "REJECTED": 10,
    }
    return PhaseReport(
        name=name,
        target_rate_per_s=rate,
        duration_s=float(seconds),
        sent=answered,
        answered=answered,
        timed_out=0,
        dead_lettered=0,
        lost=0,
        incorrect=0,
        late_sends=3,
        throughput_tps=answered / seconds,
        latency_ms=lat(4.5, 6),
        outcomes=outcomes,
        flows=flows,
        agencies={"province.001": answered},
        flow_latency_ms={"verify": lat(4.0, 6), "lookup": lat(6.0, 5)},
        measured_rate_per_s=answered / seconds,
        dead_letters_measured=0.0,
        national_daily_equivalent=round(answered / seconds * 86_400),
        online_share=None
        if share is None
        else OnlineShare(target=share, measured=share, driver=share),
    )


def run_report(
    periods: tuple[tuple[str, float, float | None], ...] = (
        ("2023H1", 300.0, 0.17),
        ("2024H1", 501.0, 0.42),
    ),
    seconds: int = 30,
    run_id: str = "20250101-000000-growth-2023-2024",
    seed: int = 6,
) -> RunReport:
    """Periods of `seconds` each at their rates, with growth, online shares and SLO checks."""
    rng = random.Random(seed)
    timeline: list[TimelineSecond] = []
    phases: list[PhaseReport] = []
    for name, rate, share in periods:
        answered = 0
        for _ in range(seconds):
            n = max(0, round(rng.gauss(rate, rate * 0.04)))
            answered += n
            latency = lat(rng.uniform(3, 6), rng.uniform(3, 8))
            timeline.append(
                TimelineSecond(t=len(timeline), phase=name, answered=n, latency_ms=latency)
            )
        phases.append(phase(name, rate, seconds, answered, share))
    sent = sum(p.sent for p in phases)
    checks = [SloCheck(name="lost", target=0, measured=0, passed=True)]
    checks += [
        SloCheck(
            name=f"{p.name}.{f}.p99_ms",
            target=250,
            measured=p.flow_latency_ms[f].p99,
            passed=True,
            period=p.name,
            flow=f,
            percentile="p99",
        )
        for p in phases
        for f in FLOWS
    ]
    growth = None
    if len(periods) > 1:
        growth = Growth(
            period=periods[-1][0], baseline=periods[0][0], target=0.67, measured=0.668, driver=0.67
        )
    return RunReport(
        run_id=run_id,
        scenario="growth-2023-2024",
        scenario_file="loadtests/scenarios/growth-2023-2024.yaml",
        topology="vn-2024",
        started_at=datetime(2025, 1, 1, tzinfo=UTC),
        elapsed_s=60.4,
        bootstrap="127.0.0.1:9092",
        scale=0.001,
        time_compression=1.0,
        phases=phases,
        late_answers=0,
        totals=Totals(
            sent=sent,
            answered=sent,
            timed_out=0,
            dead_lettered=0,
            incorrect=0,
            late_sends=6,
            lost=0,
            latency_ms=lat(4.5, 6),
            throughput_tps=sent / (seconds * len(periods)),
        ),
        slo=SloVerdict(passed=True, failed=[], checks=checks),
        timeline=timeline,
        growth=growth,
        growth_all=[growth] if growth else [],
        faults=[
            FaultRecord(
                action="kill_registry",
                period=periods[-1][0],
                at_s=10,
                recovered_s=2.4,
                instance="registry-2",
            )
        ],
        assumptions=["scale 1:1000 of the national volume"],
        warnings=[],
    )


def capacity_result(knee: float = 2500) -> CapacityResult:
    steps = [
        CapacityStep(
            rate=r,
            throughput_tps=min(r, 2600.0),
            p50_ms=4.0,
            p99_ms=5 + (r / 1000) ** 4 * 40,
            timed_out=0,
            late_sends=0,
            lost=0,
            incorrect=0,
            passed=r <= knee,
            failed=[] if r <= knee else ["x.p99_ms"],
        )
        for r in range(500, 3501, 500)
    ]
    return CapacityResult(
        knee=knee, first_failing_rate=knee + 500, steps=steps, at_80_percent=steps[2]
    )
