"""Run reports made up for tests of the report's model and page, shaped like real runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from loadtests.pages.compare import summarize
from loadtests.report import (
    CapacityResult,
    CapacityStep,
    CompareReport,
    DesignReport,
    DesignResult,
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
    WorkerReport,
)
from services.config.design import load_design

FLOWS = ("verify", "lookup")
SLOTS = 64
DESIGNS = Path(__file__).resolve().parents[2] / "deploy" / "designs"


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
        registry_transactions={f: float(n) for f, n in flows.items()},
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
    pressure: bool = True,
) -> RunReport:
    """Periods of `seconds` each at their rates, with growth, online shares and SLO checks;
    with `pressure`, the registry's lag and slots busy scraped every second, as runs have."""
    rng = random.Random(seed)
    timeline: list[TimelineSecond] = []
    phases: list[PhaseReport] = []
    for name, rate, share in periods:
        answered = 0
        for _ in range(seconds):
            n = max(0, round(rng.gauss(rate, rate * 0.04)))
            answered += n
            latency = lat(rng.uniform(3, 6), rng.uniform(3, 8))
            busy = min(SLOTS, rate * 0.005 * rng.uniform(0.5, 1.5))
            timeline.append(
                TimelineSecond(
                    t=len(timeline),
                    phase=name,
                    answered=n,
                    latency_ms=latency,
                    offered=max(0, n + rng.randint(-3, 3)),
                    consumer_lag=float(rng.randint(0, 6)) if pressure else None,
                    slots_busy=round(busy, 1) if pressure else None,
                    slots=float(SLOTS) if pressure else None,
                )
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


OVERLOADED_FAILURES = [
    "timeout_share",
    *(f"base.{f}.{p}_ms" for f in ("death", "lookup", "verify", "dossier") for p in ("p99", "p95")),
    "base.p99_ms",
    "base.p95_ms",
    "base.throughput",
    "growth",
    "online_share",
    "incorrect",
    "late_sends",
]


def overloaded_report(
    seconds: int = 30,
    rate: float = 200.0,
    capacity: float = 100.0,
    timeout_s: int = 2,
    run_id: str = "20250101-000100-peak-hour-overloaded",
    seed: int = 7,
) -> RunReport:
    """One period played on a registry that answers `capacity`/s of the `rate`/s offered, in
    order: its queue grows, requesters give up after `timeout_s`, and once the queue is longer
    than that nearly every answer comes late. About 21/s still come in time; the SLOs it fails
    make a long list. Its ledger adds up: sent = answered + timed out."""
    rng = random.Random(seed)
    timeline: list[TimelineSecond] = []
    answered = timed_out = late = 0
    for t in range(seconds):
        offered = max(0, round(rng.gauss(rate, 6)))
        queue = max(0.0, (rate - capacity) * t)  # requests waiting, oldest first
        waited = queue / capacity  # seconds the oldest has waited
        in_time = max(0, round(rng.gauss(21, 3))) if waited > timeout_s else round(capacity)
        gone = 0 if t < timeout_s else max(0, round(rng.gauss(rate - in_time, 5)))
        came_late = 0 if t < timeout_s else max(0, round(capacity) - in_time)
        answered, timed_out, late = answered + in_time, timed_out + gone, late + came_late
        timeline.append(
            TimelineSecond(
                t=t,
                phase="base",
                answered=in_time,
                latency_ms=lat(min(1000.0 * timeout_s, 20 + 1000 * waited), 1.2),
                offered=offered,
                timed_out=gone,
                late_answers=came_late,
                consumer_lag=queue,
                slots_busy=4.0,
                slots=4.0,
                in_hand=8.0,
            )
        )
    report = run_report(periods=(("base", rate, None),), seconds=seconds, run_id=run_id)
    sent = answered + timed_out
    p = phase("base", rate, seconds, answered, None).model_copy(
        update={
            "sent": sent,
            "timed_out": timed_out,
            "latency_ms": lat(1500, 1.3),
            "late_answers": late,
        }
    )
    checks = [
        SloCheck(name=name, target=1, measured=2, passed=False) for name in OVERLOADED_FAILURES
    ]
    return report.model_copy(
        update={
            "scenario": "peak-hour",
            "phases": [p],
            "timeline": timeline,
            "late_answers": late,
            "totals": report.totals.model_copy(
                update={
                    "sent": sent,
                    "answered": answered,
                    "timed_out": timed_out,
                    "throughput_tps": p.throughput_tps,
                    "latency_ms": p.latency_ms,
                }
            ),
            "slo": SloVerdict(passed=False, failed=list(OVERLOADED_FAILURES), checks=checks),
            "growth": None,
            "growth_all": [],
            "faults": [],
            "design": played("registry-overloaded.yaml"),
        }
    )


def played(design_file: str) -> DesignReport:
    design = load_design(DESIGNS / design_file)
    return DesignReport.of(design, f"deploy/designs/{design_file}", [])


def compare_report(
    baseline: RunReport | None = None, overloaded: RunReport | None = None
) -> CompareReport:
    """`ndxsim compare` of the baseline and a design whose registry is overloaded, with the
    comparison's own words."""
    base = baseline or run_report(
        periods=(("base", 200.0, None),), run_id="20250101-000000-peak-hour-baseline"
    )
    base = base.model_copy(
        update={
            "scenario": "peak-hour",
            "growth": None,
            "growth_all": [],
            "design": base.design or played("baseline.yaml"),
        }
    )
    results = [
        DesignResult(design="baseline", run=base),
        DesignResult(design="registry-overloaded", run=overloaded or overloaded_report()),
    ]
    return CompareReport(
        compare_id="20250101-000000-peak-hour-compare",
        scenario="peak-hour",
        scenario_file="loadtests/scenarios/peak-hour.yaml",
        seed=6,
        started_at=datetime(2025, 1, 1, tzinfo=UTC),
        results=results,
        summary=summarize(results),
    )


def worker_report(cores: float = 0.3, finished: bool = True) -> WorkerReport:
    """One worker that played its share: `cores` of CPU, finished or died."""
    return WorkerReport(
        name="w1",
        host="h",
        pid=1,
        shares=[0],
        agencies=["a"],
        planned=10,
        sent=10,
        answered=10,
        timed_out=0,
        late_send_share=0.0,
        cpu_cores=cores,
        finished=finished,
    )
