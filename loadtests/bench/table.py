"""Prints the bench as it goes and as one table at the end, with honest PASS/MISS verdicts."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loadtests.bench.model import BenchResult, BenchStep, CpuPerTransaction

COLUMNS = ("#", "role", "offered/s", "achieved/s", "p50 ms", "p99 ms", "timeouts", "late %",
           "lost", "wrong", "drv ms/tx", "reg ms/tx", "kafka ms/tx", "jit ms/tx", "all ms/tx",
           "others' cores", "load 1m", "verdict")  # fmt: skip


def _cpu(cpu: CpuPerTransaction | None) -> list[str]:
    """Driver, registry, broker, JIT and total CPU-ms per transaction, then others' cores."""
    if cpu is None:
        return ["-"] * 6
    ms = (cpu.driver_ms, cpu.registry_ms, cpu.broker_ms, cpu.broker_jit_ms, cpu.total_ms)
    return [*(f"{v:.3f}" for v in ms), f"{cpu.other_cores:.2f}"]


def _verdict(step: BenchStep) -> str:
    if step.passed:
        return "[green]sustained[/]" + (" (generator behind)" if step.generator_bound else "")
    return "[red]" + "; ".join(step.reasons) + "[/]"


def step_line(index: int, step: BenchStep) -> str:
    cpu = "-" if step.cpu is None else f"{step.cpu.total_ms:.3f}"
    return (
        f"step {index} ({step.role}): offered {step.offered_tps:,.0f}/s, achieved "
        f"{step.achieved_tps:,.0f}/s, p50 {step.p50_ms:.1f} ms, p99 {step.p99_ms:.1f} ms,"
        f" CPU {cpu} ms/tx, {step.wall_s:.0f} s: {_verdict(step)}"
    )


def print_result(result: BenchResult, console: Console) -> None:
    table = Table(title="ndxsim bench: end-to-end verifications", title_justify="left")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("role", "verdict") else "right")
    for i, s in enumerate(result.steps, 1):
        table.add_row(
            str(i), s.role, f"{s.offered_tps:,.0f}", f"{s.achieved_tps:,.0f}",
            f"{s.p50_ms:.1f}", f"{s.p99_ms:.1f}", str(s.timed_out),
            f"{100 * s.late_send_share:.1f}", str(s.lost), str(s.incorrect), *_cpu(s.cpu),
            f"{s.loadavg_1m:.2f}", _verdict(s),
        )  # fmt: skip
    console.print(table)
    raw, head, host = result.raw_ceiling, result.headline, result.host
    console.print(
        f"raw Kafka ceiling (ProducerPerformance, {raw.record_size} B, acks=all): "
        f"{raw.records_per_s:,.0f} records/s, p50 {raw.latency_ms.p50:.0f} ms, "
        f"p99 {raw.latency_ms.p99:.0f} ms at saturation; broker "
        f"{raw.broker_cpu_ms_per_record:.4f} CPU-ms/record"
    )
    if (floor := result.hop_floor) is not None:
        console.print(
            f"one-hop floor (EndToEndLatency, {floor.messages:,} records one at a time, acks=all):"
            f" avg {floor.avg_ms:.2f} ms, p50 {floor.p50_ms:.0f} ms, p99 {floor.p99_ms:.0f} ms;"
            f" a request-reply is two hops: {2 * floor.avg_ms:.1f} ms"
        )
    at80, minutes = head.at_80pct, head.national_day_minutes
    at80_text = "not measured"
    if at80 is not None:
        at80_text = f"{at80.offered_tps:,.0f}/s: p50 {at80.p50_ms:.1f} ms, p99 {at80.p99_ms:.1f} ms"
    console.print(
        f"max sustained: {head.max_sustained_tps:,.0f} verifications/s = "
        f"{head.ratio_to_raw_ceiling or 0:.1%} of the raw ceiling; at 80% of it {at80_text}; "
        f"a national day of 2024 (2.8 M) takes {f'{minutes:,.1f} min' if minutes else '-'}"
    )
    for check in head.checks:
        colour = "green" if check.result == "PASS" else "red"
        console.print(f"  [{colour}]{check.result}[/] {check.name}")
    load = ", ".join(f"{x:.2f}" for x in host.loadavg_end)
    console.print(f"{host.cpus} CPUs, load average at the end {load}; {result.path}")
