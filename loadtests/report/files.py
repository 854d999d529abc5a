"""Writes runs/<run-id>/report.json, points runs/latest at it, and prints the summary."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loadtests.report.bulk import BulkJobReport, BulkReport
from loadtests.report.parts import Paths
from loadtests.report.run import PhaseReport, RunReport, Totals

COLUMNS = (
    "phase",
    "sent",
    "answered",
    "timed out",
    "dead-lettered",
    "lost",
    "incorrect",
    "tx/s",
    "p50 ms",
    "p99 ms",
)


def write_report(run_dir: Path, report: RunReport) -> Path:
    """report.json written atomically; its paths are set on the report it was given."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "report.json"
    report.paths = Paths(json_path=str(path), html_path=str(run_dir / "report.html"))
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    latest = run_dir.parent / "latest"
    link_tmp = run_dir.parent / ".latest.tmp"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(run_dir.name, link_tmp)
    link_tmp.replace(latest)
    return path


def _row(name: str, p: PhaseReport | Totals) -> list[str]:
    lat = p.latency_ms
    counts = (p.sent, p.answered, p.timed_out, p.dead_lettered, p.lost, p.incorrect)
    return [name, *map(str, counts), f"{p.throughput_tps:.1f}", f"{lat.p50:.1f}", f"{lat.p99:.1f}"]


def queue_line(p: PhaseReport) -> str | None:
    """One period's registry queue in a line: capacity, load, measured against ideal."""
    q = p.queue
    if q is None:
        return None
    slots, instances = q.servers_per_instance, q.instances
    words = (
        f"queue {p.name}: registry capacity {q.capacity_tps:,.0f}/s ({slots} "
        f"slot{'s' * (slots != 1)} × {q.mean_service_ms:g} ms, {instances} "
        f"instance{'s' * (instances != 1)}), offered {q.offered_tps:,.0f}/s, "
        f"utilisation {q.utilisation:.0%}"
    )
    m, i, a = q.measured, q.ideal, q.added
    if m is not None and i is not None and a is not None:
        verdict = "within" if q.within else "NOT within"
        words += (
            f"; registry-side p50 {m.p50_ms:,.1f} ms (ideal {i.p50_ms:,.1f}), p99 "
            f"{m.p99_ms:,.1f} ms (ideal {i.p99_ms:,.1f}): the platform adds {a.p50_ms:+,.1f} / "
            f"{a.p99_ms:+,.1f} ms, {verdict} 10% or 5 ms"
        )
    if q.slot_wait is not None:
        words += f"; slot wait p99 {q.slot_wait.p99_ms:,.1f} ms"
    if q.lag is not None and q.lag.peak_records is not None:
        words += f"; lag peak {q.lag.peak_records:,.0f}"
    if q.wasted_share:
        words += f"; {q.wasted_share:.0%} of its answers came after the requester gave up"
    return words


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def bulk_job_line(job: BulkJobReport) -> str:
    """One bulk job in a line: whole or not, in time or not, how fast."""
    done = (
        "never completed" if job.completed_s is None else f"completed in {job.completed_s:,.1f} s"
    )
    met = "met" if job.met_deadline else "MISSED"
    rate = "" if job.items_per_s is None else f", {job.items_per_s:,.1f} items/s"
    return (
        f"bulk {job.name} ({job.period}): {job.answered:,} of {job.items:,} answered, "
        f"{job.lost:,} lost, {job.incorrect:,} incorrect, {job.duplicates:,} duplicates; "
        f"{done} against a {job.deadline_s:,.0f} s deadline ({met}){rate}"
    )


def bulk_lines(bulk: BulkReport) -> list[str]:
    """The bulk side in a few lines: jobs, taxable counted twice, quota'd throttle, lanes."""
    lines = [bulk_job_line(job) for job in bulk.jobs]
    kinds = sorted({k for j in bulk.jobs for k in j.taxable} | set(bulk.taxable_counted))
    if kinds:
        lines.append(
            "bulk taxable: "
            + "; ".join(
                f"{kind} {_count(bulk.taxable_counted.get(kind))} counted by the tax authority, "
                f"{sum(j.taxable.get(kind, 0) for j in bulk.jobs):,} by the driver"
                for kind in kinds
            )
        )
    for t in bulk.throttle:
        if t.principal in bulk.quotas or t.seconds_throttled:
            lines.append(
                f"bulk throttle {t.principal} ({t.kind}): peak {t.peak_ms:,.1f} ms, mean "
                f"{t.mean_ms:,.1f} ms, {t.seconds_throttled:,} s throttled"
            )
    if bulk.lanes:
        lines.append(
            "bulk lanes: "
            + "; ".join(
                f"{x.lane} {x.bulk:,.0f} bulk items, {x.interactive:,.0f} interactive answers"
                for x in bulk.lanes
            )
        )
    return lines


def print_summary(report: RunReport, console: Console) -> None:
    table = Table(title=f"ndxsim run {report.run_id}", show_lines=False)
    for col in COLUMNS:
        table.add_column(col, justify="right" if col != "phase" else "left")
    warmup = [report.warmup] if report.warmup is not None else []
    for p in [*warmup, *report.phases]:
        table.add_row(*_row(p.name, p))
    table.add_row(*_row("total", report.totals))
    console.print(table)
    growth = report.growth
    if growth is not None:
        measured = "—" if growth.measured is None else f"{growth.measured:+.2%}"
        driver = "—" if growth.driver is None else f"{growth.driver:+.2%}"
        console.print(
            f"growth {growth.baseline} → {growth.period}: target {growth.target:+.1%}, "
            f"measured {measured} from the registry's counters (driver's own count {driver})"
        )
    for p in report.phases:
        share = p.online_share
        if share is not None and share.measured is not None:
            console.print(
                f"online dossiers {p.name}: target {share.target:.0%}, "
                f"measured {share.measured:.1%} (from the monitor's counters)"
            )
    for p in report.phases:
        if (line := queue_line(p)) is not None:
            console.print(escape(line))
    if report.bulk is not None:
        for line in bulk_lines(report.bulk):
            console.print(escape(line), highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if report.workers:
        done = sum(w.finished for w in report.workers)
        console.print(
            f"{len(report.workers)} worker(s), {done} finished: "
            + ", ".join(
                f"{w.name} on {w.host} {w.sent} sent, {w.cpu_cores:.2f} cores"
                for w in report.workers
            )
        )
    if report.limited_by is not None:
        console.print(
            f"limited by the [bold]{report.limited_by.side}[/]: {escape(report.limited_by.reason)}"
        )
    slo = report.slo
    verdict = (
        "[green]SLOs hold[/]" if slo.passed else f"[red]SLO failed: {', '.join(slo.failed)}[/]"
    )
    console.print(verdict)
    if report.paths is not None:
        console.print(f"report: {report.paths.json_path}")
