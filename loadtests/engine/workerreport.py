"""The report's `workers` section and its verdict on who limited the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from loadtests.measure import encode
from loadtests.report import CpuReport, Limit, PhaseReport, QueueReport, WorkerReport
from loadtests.workers import Coordinator, WorkerState
from services.config import Design

FULL_CORE = 0.85  # a single-threaded process this busy is the bottleneck, not what it drives
LATE_LIMIT = 0.01  # more sends than this left late: the generator could not keep the schedule
MIMICS = ("registry", "monitor")
MACHINE_FULL = 0.85  # of all cores: a worker waiting for a core is late however light it is
NEAR_FULL = 0.8  # a registry this busy that timed requests out is the limit, not short of it


def _report(c: Coordinator, w: WorkerState) -> tuple[WorkerReport, str | None]:
    shares = sorted(w.claimed or [])
    agencies = sorted(a for s in c.shares if s.index in shares for a in s.agencies)
    sent = answered = timed_out = late = 0
    warm_sent = warm_late = 0  # the warm-up is accounted for, but its late sends are no figure
    for index, wire in w.periods.items():
        sent, answered = sent + wire.sent, answered + wire.answered
        timed_out, late = timed_out + wire.timed_out, late + wire.late_sends
        if index == 0:
            warm_sent, warm_late = wire.sent, wire.late_sends
    planned, died_in = sent, None
    for index, period in c.played:
        if index in w.periods:
            continue
        p = w.progress
        if died_in is None and p is not None and p.period == index:
            so_far = p.counts
            sent, answered = sent + so_far.sent, answered + so_far.answered
            timed_out, late = timed_out + so_far.timed_out, late + so_far.late_sends
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
        late_send_share=_share(late - warm_late, sent - warm_sent),
        cpu_cores=round(cores, 3),
        peak_cores=round(done.peak_cores if done else 0.0, 3),
        finished=done is not None,
        taken_over=sorted(w.taken_over),
        record_part=done.record_part if done else "",
        histograms={wire.name: encode(wire.latency) for wire in w.periods.values()},
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


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


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
    phases: Sequence[PhaseReport] = (),
    design: Design | None = None,
) -> Limit:
    """The generator, the simulation's own services (an artifact), or the design under test;
    for the design, the part of it that limited (its registry's capacity under the service-time
    model, request partitions leaving instances idle, the brokers' CPU), with its figures."""
    registry = _registry_limit(phases, design) if design is not None else None
    if registry is not None and _past_capacity(phases):
        return registry  # what was offered already exceeded the slots: a slower generator only
        # offered less, so the design limited whatever the generator did
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
    if registry is not None:
        return registry  # the model's work alone exceeds the slots, however fast the mimic is
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
    if (broker := _broker(cpu)) is not None:
        return broker
    return Limit(
        side="design",
        reason=(
            "no worker near a full core, sends on time, no mimic process saturated: what the run "
            "measured is the design's (broker, partitions, instances, modelled service time)"
            + _headroom(phases)
        ),
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _slots(q: QueueReport, instances: int) -> str:
    """'4 slots × 40 ms, 1 instance'"""
    return (
        f"{_plural(q.servers_per_instance, 'slot')} × {q.mean_service_ms:g} ms, "
        f"{_plural(instances, 'instance')}"
    )


def _wasted(phase: PhaseReport, q: QueueReport) -> str:
    """What the overload cost: the registry's work that reached requesters who had given up."""
    if q.wasted_share is not None and q.late_answers:
        return f"; {q.wasted_share:.0%} of its work answered requests already timed out"
    if phase.timed_out:
        return f"; {phase.timed_out:,} request(s) timed out"
    return ""


def _idle(q: QueueReport, design: Design) -> int:
    """Registry instances the request partitions leave without work (none when there are as
    many partitions as instances: an instance missing then is down, not idle by design)."""
    partitions, instances = design.topics.requests, q.instances
    if partitions >= instances:
        return 0
    if q.instances_answering is not None:
        return max(instances - q.instances_answering, 0)
    return instances - partitions


def _past_capacity(phases: Sequence[PhaseReport]) -> bool:
    """Some period offered the registry at least its capacity (counted from what was sent)."""
    return any(p.queue is not None and p.queue.utilisation >= 1 for p in phases)


def _registry_limit(phases: Sequence[PhaseReport], design: Design) -> Limit | None:
    """The registry as the design's queue, in its most loaded period: at or past its
    capacity, or near it with requests timed out."""
    queued = [(p, p.queue) for p in phases if p.queue is not None]
    if not queued:
        return None
    phase, q = max(queued, key=lambda pq: pq[1].utilisation)
    troubled = phase.timed_out > 0 or q.late_answers > 0
    idle = _idle(q, design)
    if idle:
        answering = q.instances - idle
        holds = q.capacity_tps * answering / q.instances
        if q.offered_tps >= holds or (troubled and q.offered_tps >= NEAR_FULL * holds):
            return Limit(
                side="design",
                part="request partitions",
                reason=(
                    f"request partitions ({design.topics.requests}) leave {idle} of "
                    f"{q.instances} instances idle: the {answering} that answer hold "
                    f"{holds:,.0f}/s ({_slots(q, answering)}), against the offered "
                    f"{q.offered_tps:,.0f}/s{_wasted(phase, q)} (period {phase.name})"
                ),
            )
    capacity = f"registry capacity {q.capacity_tps:,.0f}/s ({_slots(q, q.instances)})"
    if q.utilisation >= 1:
        where = f"below the offered {q.offered_tps:,.0f}/s"
    elif troubled and q.utilisation >= NEAR_FULL:
        where = (
            f"nearly taken by the offered {q.offered_tps:,.0f}/s (utilisation {q.utilisation:.0%})"
        )
    elif troubled and (q.busiest_utilisation or 0.0) >= 1:
        where = (
            f"shared unevenly: its busiest instance was offered {q.busiest_utilisation:.0%} "
            f"of its own slots' capacity (utilisation {q.utilisation:.0%} overall)"
        )
    else:
        return None
    return Limit(
        side="design",
        part="registry capacity",
        reason=f"{capacity} {where}{_wasted(phase, q)} (period {phase.name})",
    )


def _broker(cpu: CpuReport | None) -> Limit | None:
    """The brokers, when the run's processes filled the machine and the brokers used most."""
    if cpu is None or not cpu.cpus or not cpu.parts:
        return None
    used = sum(part.cores for part in cpu.parts)
    top = max(cpu.parts, key=lambda p: p.cores)
    if top.component != "broker" or used < MACHINE_FULL * cpu.cpus:
        return None
    others = ", ".join(
        f"{p.component} {p.cores:.2f}"
        for p in sorted(cpu.parts, key=lambda p: -p.cores)
        if p.component != "broker"
    )
    return Limit(
        side="design",
        part="broker CPU",
        reason=(
            f"broker CPU: the brokers used {top.cores:.2f} of the machine's {cpu.cpus} cores, "
            f"more than any other part ({others}); the run's processes used {used:.2f} in all"
        ),
    )


def _headroom(phases: Sequence[PhaseReport]) -> str:
    """How close the registry came to its capacity, when the design models one."""
    queued = [(p, p.queue) for p in phases if p.queue is not None]
    if not queued:
        return ""
    phase, q = max(queued, key=lambda pq: pq[1].utilisation)
    return (
        f"; registry capacity {q.capacity_tps:,.0f}/s ({_slots(q, q.instances)}), at most "
        f"{q.utilisation:.0%} of it offered ({q.offered_tps:,.0f}/s in {phase.name})"
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
