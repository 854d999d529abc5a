"""SLO verdicts for a run: the scenario's targets plus the ledger's own invariants."""

from __future__ import annotations

from loadtests.report import BulkReport, Growth, PhaseReport, SloCheck, SloVerdict, Totals
from loadtests.scenario import BulkJob, Slo

PERCENTILES = ("p50", "p99")


def _latency_checks(slo: Slo, phase: PhaseReport) -> list[SloCheck]:
    """Per flow: the flow's own target where the scenario names one, else the global one."""
    checks = []
    per_flow = phase.flow_latency_ms or {"all": phase.latency_ms}
    for flow, lat in per_flow.items():
        flow_slo = slo.flows.get(flow)  # type: ignore[call-overload]
        for pct in PERCENTILES:
            target = getattr(flow_slo, f"{pct}_ms", None) if flow_slo else None
            target = target if target is not None else getattr(slo, f"{pct}_ms")
            if target is not None:
                measured = float(getattr(lat, pct))
                checks.append(
                    SloCheck(
                        name=f"{phase.name}.{flow}.{pct}_ms",
                        target=target,
                        measured=measured,
                        passed=measured <= target,
                        period=phase.name,
                        flow=flow,
                        percentile=pct,
                    )
                )
    return checks


def _at_most(name: str, target: float, measured: float) -> SloCheck:
    return SloCheck(name=name, target=target, measured=measured, passed=measured <= target)


def _near(
    name: str, target: float, measured: float | None, tolerance: float, period: str
) -> SloCheck:
    ok = measured is not None and abs(measured - target) <= tolerance
    return SloCheck(name=name, target=target, measured=measured, passed=ok, period=period)


def verdict(
    slo: Slo,
    phases: list[PhaseReport],
    total: Totals,
    growth: Growth | None = None,
    warmup: PhaseReport | None = None,
) -> SloVerdict:
    """Every check names what it measured; the run passes only if all pass."""
    checks = [_at_most("lost", 0, total.lost), _at_most("incorrect", 0, total.incorrect)]
    if warmup is not None:  # unmeasured, but accounted for like the rest
        checks.append(_at_most("warm-up.lost", 0, warmup.lost))
        checks.append(_at_most("warm-up.incorrect", 0, warmup.incorrect))
    sent = max(total.sent, 1)
    checks.append(
        _at_most("timeout_share", slo.max_timeout_share, round(total.timed_out / sent, 6))
    )
    if slo.max_late_send_share is not None:
        checks.append(
            _at_most("late_send_share", slo.max_late_send_share, round(total.late_sends / sent, 6))
        )
    for phase in phases:
        checks.extend(_latency_checks(slo, phase))
        share = phase.online_share
        if slo.online_share_tolerance is not None and share is not None:
            checks.append(
                _near(
                    f"{phase.name}.online_share",
                    share.target,
                    share.measured,
                    slo.online_share_tolerance,
                    phase.name,
                )
            )
    if slo.growth_tolerance is not None and growth is not None:
        checks.append(
            _near(
                f"growth.{growth.period}",
                growth.target,
                growth.measured,
                slo.growth_tolerance,
                growth.period,
            )
        )
    failed = [c.name for c in checks if not c.passed]
    return SloVerdict(passed=not failed, failed=failed, checks=checks)


def bulk_checks(
    slo: Slo, jobs: list[BulkJob], bulk: BulkReport, targets: dict[str, float] | None = None
) -> list[SloCheck]:
    """Each job answered in full, once, correctly and by its deadline; the taxable sellers the
    tax authority counted near the scenario's targets when it states them."""
    checks = []
    for job in bulk.jobs:
        name = f"bulk.{job.name}"
        checks += [
            _at_most(f"{name}.lost", 0, job.lost),
            _at_most(f"{name}.incorrect", 0, job.incorrect),
            _at_most(f"{name}.duplicates", 0, job.duplicates),
        ]
        if slo.bulk_deadline:
            measured = job.completed_s if job.completed_s is not None else None
            checks.append(
                SloCheck(
                    name=f"{name}.completed_s",
                    target=job.deadline_s,
                    measured=measured,
                    passed=job.met_deadline,
                    period=job.period,
                    flow="bulk",
                )
            )
    if slo.taxable_tolerance is not None:
        for kind, target in (targets or {}).items():
            counted = bulk.taxable_counted.get(kind)
            ok = counted is not None and abs(counted - target) <= slo.taxable_tolerance * target
            checks.append(
                SloCheck(name=f"bulk.taxable.{kind}", target=target, measured=counted, passed=ok)
            )
    return checks


def with_checks(result: SloVerdict, extra: list[SloCheck]) -> SloVerdict:
    checks = [*result.checks, *extra]
    return SloVerdict(
        passed=all(c.passed for c in checks),
        failed=[c.name for c in checks if not c.passed],
        checks=checks,
    )
