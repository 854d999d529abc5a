"""A run's report assembled from its ledgers, measurements and workers, apart from playing it."""

from __future__ import annotations

from datetime import datetime

from loadtests.engine.slo import bulk_checks, verdict, with_checks
from loadtests.engine.workerreport import limited_by, worker_reports
from loadtests.measure import Measured, PhaseLedger, Snapshot, queue_report, totals
from loadtests.report import (
    BulkJobReport,
    BulkReport,
    CacheReport,
    LaneLoad,
    PhaseReport,
    QueueReport,
    ReplicaReport,
    RunReport,
    ThrottleReport,
)
from loadtests.scenario import Scenario
from loadtests.workers import Coordinator, late_by_requester, period_queue
from services.config import Bulk

__all__ = ["LATE_WARNING_SHARE", "add_queues", "add_workers", "build_report", "phase_report"]

LATE_WARNING_SHARE = 0.01
REGISTRY_FLOWS = ("verify", "lookup")  # the flows that take a database slot


def phase_report(ledger: PhaseLedger, m: Measured, scenario: Scenario) -> PhaseReport:
    """The ledger's accounting of a period with what the platform's counters measured."""
    period = m.periods[ledger.name]
    return ledger.summary().model_copy(
        update={
            "measured_rate_per_s": round(period.measured_rate, 3),
            "dead_letters_measured": period.dead_letters,
            "registry_transactions": period.registry_flows,
            "national_daily_equivalent": round(
                period.measured_rate / (scenario.scale * scenario.time_compression) * 86_400
            ),
            "online_share": period.online_share if ledger.dossiers else None,
        }
    )


def build_report(
    scenario: Scenario,
    scenario_file: str,
    run_id: str,
    started_at: datetime,
    elapsed: float,
    coordinator: Coordinator,
    ledgers: list[PhaseLedger],
    metered: Measured,
    bootstrap: str,
) -> RunReport:
    total = totals(ledgers)
    phases = [phase_report(ledger, metered, scenario) for ledger in ledgers]
    add_queues(phases, coordinator, metered)
    warnings = []
    if total.sent and total.late_sends / total.sent > LATE_WARNING_SHARE:
        warnings.append(
            f"{total.late_sends} of {total.sent} sends left late: the generator, not the "
            "system, limited this run; latency is still measured from the intended times"
        )
    growth = metered.growth[-1] if metered.growth else None
    warmup = coordinator.warmup.summary() if coordinator.warmup is not None else None
    return RunReport(
        run_id=run_id,
        scenario=scenario.name,
        scenario_file=scenario_file,
        topology=scenario.topology,
        started_at=started_at,
        elapsed_s=round(elapsed, 3),
        bootstrap=bootstrap,
        scale=scenario.scale,
        time_compression=scenario.time_compression,
        phases=phases,
        totals=total,
        late_answers=coordinator.late_answers,
        slo=verdict(scenario.slo, phases, total, growth, warmup),
        timeline=coordinator.timeline.as_report(),
        assumptions=scenario.assumptions,
        warnings=warnings,
        warmup=warmup,
        growth=growth,
        growth_all=metered.growth,
    )


def add_queues(phases: list[PhaseReport], coordinator: Coordinator, metered: Measured) -> None:
    """Each measured period's late answers by requester and, under a service-time model, its
    queue: the workers' samples of it added up and replayed through the ideal queue."""
    played = {period.name: (index, period) for index, period in coordinator.played if index > 0}
    for phase in phases:
        if phase.name not in played:
            continue
        index, period = played[phase.name]
        phase.late_answers_by_requester = late_by_requester(index, coordinator.workers)
        phase.queue = _queue(phase, index, period.duration_s, coordinator, metered)


def _queue(
    phase: PhaseReport, index: int, duration_s: float, coordinator: Coordinator, metered: Measured
) -> QueueReport | None:
    sample, missing = period_queue(index, coordinator.workers)
    registry = sum((phase.registry_transactions or {}).get(f, 0.0) for f in REGISTRY_FLOWS)
    measure = metered.periods[phase.name].queue if phase.name in metered.periods else None
    queue = queue_report(
        coordinator.config.design,
        duration_s,
        sample,
        measure,
        phase.timed_out,
        phase.late_answers,
        registry or None,
    )
    if queue is not None and missing:
        queue.notes.append(
            f"{missing} worker(s) died during the period: their requests are missing from the "
            "ideal queue's arrivals"
        )
    return queue


def add_workers(report: RunReport, coordinator: Coordinator, processes: dict[str, int]) -> None:
    """The workers' reports and warnings, what limited the run, and the replicas' caches."""
    report.workers, warnings = worker_reports(coordinator)
    report.warnings.extend(warnings)
    late = report.totals.late_sends / report.totals.sent if report.totals.sent else 0.0
    report.limited_by = limited_by(
        report.workers,
        late,
        report.cpu,
        processes,
        phases=report.phases,
        design=coordinator.config.design,
    )
    replicas = [r for w in coordinator.workers if w.done for r in w.done.replicas]
    if replicas:
        report.cache = CacheReport.of(
            [
                ReplicaReport(ministry=r.ministry, held=r.held, hits=r.hits, misses=r.misses)
                for r in sorted(replicas, key=lambda r: r.ministry)
            ]
        )


def add_bulk(
    report: RunReport,
    scenario: Scenario,
    design: Bulk,
    jobs: list[BulkJobReport],
    counted: Snapshot,
    throttle: list[ThrottleReport],
) -> None:
    """The bulk side of a run: its jobs as the driver judged them, what the services' own
    counters say (taxable sellers, items by lane), the broker's throttle; and its SLOs."""
    interactive = counted.transactions
    lanes = [
        LaneLoad(
            lane=lane,
            interactive=round(interactive if lane == "shared" else 0.0),
            bulk=round(counted.bulk_by_lane.get(lane, 0.0)),
        )
        for lane in ("shared", "separate")
        if lane == "shared" or lane in counted.bulk_by_lane
    ]
    bulk = BulkReport(
        lane=design.lane,
        chunk=design.chunk,
        rate_per_s=design.rate_per_s,
        quotas={p: q.given() for p, q in design.quotas.items()},
        jobs=jobs,
        throttle=throttle,
        lanes=lanes,
        taxable_counted={k: round(v) for k, v in sorted(counted.taxable.items())},
        bulk_items_counted=round(sum(counted.bulk_by_lane.values())),
        registry_outcomes={k: round(v) for k, v in sorted(counted.bulk_outcomes.items())},
    )
    report.bulk = bulk
    targets: dict[str, float] = {}
    for job in scenario.bulk:
        for kind, n in job.taxable_target.items():
            targets[kind] = targets.get(kind, 0.0) + n
    report.slo = with_checks(
        report.slo, bulk_checks(scenario.slo, list(scenario.bulk), bulk, targets)
    )
