"""The report's `workers` section and its verdict on who limited the run."""

from __future__ import annotations

from collections.abc import Mapping

from loadtests.coordinator import Coordinator
from loadtests.reportmodel import CpuReport, Limit, WorkerReport
from loadtests.results import WorkerState

FULL_CORE = 0.85  # a single-threaded process this busy is the bottleneck, not what it drives
LATE_LIMIT = 0.01  # more sends than this left late: the generator could not keep the schedule
MIMICS = ("registry", "monitor")
MACHINE_FULL = 0.85  # of all cores: a worker waiting for a core is late however light it is


def _report(c: Coordinator, w: WorkerState) -> tuple[WorkerReport, str | None]:
    shares = sorted(w.claimed or [])
    agencies = sorted(a for s in c.shares if s.index in shares for a in s.agencies)
    sent = answered = timed_out = late = 0
    for wire in w.periods.values():
        sent, answered = sent + wire.sent, answered + wire.answered
        timed_out, late = timed_out + wire.timed_out, late + wire.late_sends
    planned, died_in = sent, None
    for index, period in c.played:
        if index in w.periods:
            continue
        p = w.progress
        if died_in is None and p is not None and p.period == index:
            sent, answered = sent + p.sent, answered + p.answered
            timed_out, late = timed_out + p.timed_out, late + p.late_sends
            died_in = period.name
        planned += len(c.scheduler.plan(period, index, agencies).arrivals)
    planned = max(planned, sent)
    done = w.done
    last = w.progress.cpu_cores if w.progress else 0.0
    cores = done.cpu_seconds / max(done.wall_s, 1e-6) if done else last
    report = WorkerReport(
        name=w.name,
        host=w.host,
        pid=w.pid,
        shares=shares,
        agencies=agencies,
        planned=planned,
        sent=sent,
        answered=answered,
        timed_out=timed_out,
        unaccounted=sent - answered - timed_out,
        not_sent=planned - sent,
        late_send_share=round(late / sent, 4) if sent else 0.0,
        cpu_cores=round(cores, 3),
        peak_cores=round(done.peak_cores if done else 0.0, 3),
        finished=done is not None,
        taken_over=sorted(w.taken_over),
        record_part=done.record_part if done else "",
        histograms={wire.name: wire.latency for wire in w.periods.values()},
    )
    warning = None
    if report.record_part:
        warning = (
            f"worker {w.name} kept its part of the transaction record on {w.host}: "
            f"{report.record_part}"
        )
    if done is None:
        where = f"during {died_in}" if died_in else "between periods"
        why = f" ({w.death})" if w.death else ""
        warning = (
            f"worker {w.name} (pid {w.pid} on {w.host}) died {where}{why}: "
            f"{report.unaccounted} request(s) in flight counted as lost, "
            f"{report.not_sent} planned arrival(s) of its share not sent"
        )
    return report, warning


def worker_reports(c: Coordinator) -> tuple[list[WorkerReport], list[str]]:
    out, warnings = [], []
    for w in sorted(c.workers, key=lambda w: w.name):
        report, warning = _report(c, w)
        out.append(report)
        if warning:
            warnings.append(warning)
    if c.unclaimed:
        lost = sum(
            len(
                c.scheduler.plan(
                    p, i, [a for s in c.shares if s.index in c.unclaimed for a in s.agencies]
                ).arrivals
            )
            for i, p in c.played
        )
        warnings.append(
            f"shares {c.unclaimed} were claimed by no worker: {lost} planned arrival(s) not sent"
        )
    return out, warnings


def limited_by(
    workers: list[WorkerReport],
    late_share: float,
    cpu: CpuReport | None,
    processes: Mapping[str, int],
) -> Limit:
    """The generator, the simulation's own services (an artifact), or the design under test."""
    dead = [w for w in workers if not w.finished]
    if dead:
        return Limit(
            side="generator",
            reason=(
                f"worker {dead[0].name} died: {dead[0].not_sent} planned arrival(s) were never "
                "offered, so the run measured less load than the scenario plans"
            ),
        )
    busy = [w for w in workers if max(w.cpu_cores, 0.0) >= FULL_CORE]
    if busy:
        return Limit(
            side="generator",
            reason=(
                f"worker {busy[0].name} used {busy[0].cpu_cores:.2f} of a core: add workers or "
                "machines; this run's limit is the load generator's, not the design's"
            ),
        )
    if late_share > LATE_LIMIT:
        return Limit(
            side="generator",
            reason=(
                f"{late_share:.1%} of sends left late: the generator could not keep the schedule "
                f"(latency still counts from the intended times){_machine(cpu)}"
            ),
        )
    for part in cpu.parts if cpu else []:
        count = max(processes.get(part.component, 1), 1)
        if part.component in MIMICS and part.cores / count >= FULL_CORE:
            return Limit(
                side="simulation",
                reason=(
                    f"{part.component} processes averaged {part.cores / count:.2f} of a core each: "
                    "the mimic service saturated (an artifact of the simulation, not a finding "
                    "about the design)"
                ),
            )
    return Limit(
        side="design",
        reason=(
            "no worker near a full core, sends on time, no mimic process saturated: what the run "
            "measured is the design's (broker, partitions, instances, modelled service time)"
        ),
    )


def _machine(cpu: CpuReport | None) -> str:
    """When the run's processes filled the machine, say so: the workers shared its cores."""
    if cpu is None or not cpu.cpus:
        return ""
    used = sum(part.cores for part in cpu.parts)
    if used < MACHINE_FULL * cpu.cpus:
        return ""
    top = ", ".join(
        f"{p.component} {p.cores:.2f}" for p in sorted(cpu.parts, key=lambda p: -p.cores)[:3]
    )
    return (
        f"; the run's processes used {used:.2f} of the machine's {cpu.cpus} cores ({top}): "
        "the workers competed with the system for CPU, so run them on other machines"
    )
