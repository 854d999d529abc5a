"""Prints the bench as it goes and as tables at the end, with honest PASS/MISS verdicts."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loadtests.bench.figures import simulator_to_broker
from loadtests.bench.model import BenchResult, BenchStep, CpuPerTransaction, WorkerSeries

COLUMNS = (
    "#",
    "role",
    "offered/s",
    "achieved/s",
    "p50 ms",
    "p99 ms",
    "timeouts",
    "late %",
    "lost",
    "wrong",
    "drv ms/tx",
    "reg ms/tx",
    "kafka ms/tx",
    "jit ms/tx",
    "all ms/tx",
    "others' cores",
    "load 1m",
    "limited by",
    "verdict",
)


def plural(workers: int) -> str:
    return f"{workers} worker{'' if workers == 1 else 's'}"


def series_name(played: WorkerSeries) -> str:
    agencies = "" if played.agencies is None else f" (agencies on {played.agencies})"
    return f"{played.library}{agencies}, {plural(played.workers)}"


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
        f" CPU {cpu} ms/tx, limited by {step.limited_by or '-'}, {step.wall_s:.0f} s: "
        f"{_verdict(step)}"
    )


def _steps_table(played: WorkerSeries) -> Table:
    title = f"ndxsim bench on {series_name(played)}: end-to-end verifications"
    table = Table(title=title, title_justify="left")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("role", "verdict") else "right")
    for i, s in enumerate(played.steps, 1):
        table.add_row(
            str(i),
            s.role,
            f"{s.offered_tps:,.0f}",
            f"{s.achieved_tps:,.0f}",
            f"{s.p50_ms:.1f}",
            f"{s.p99_ms:.1f}",
            str(s.timed_out),
            f"{100 * s.late_send_share:.1f}",
            str(s.lost),
            str(s.incorrect),
            *_cpu(s.cpu),
            f"{s.loadavg_1m:.2f}",
            s.limited_by or "-",
            _verdict(s),
        )
    return table


def _top(played: WorkerSeries) -> BenchStep | None:
    """The step the series is judged by: at 80% of its maximum, else its highest sustained."""
    at80 = next((s for s in played.steps if s.role == "at-80%"), None)
    passed = [s for s in played.steps if s.passed and s.role != "warm-up"]
    return at80 or max(passed, key=lambda s: s.offered_tps, default=None)


def side_by_side(result: BenchResult) -> Table:
    """Kafka's own tools next to ndxsim with each number of workers, on the same broker."""
    table = Table(title="Side by side, same fresh broker", title_justify="left")
    table.add_column("")
    table.add_column("Kafka's tools", justify="right")
    for played in result.series:
        table.add_column(f"ndxsim on {series_name(played)}", justify="right")
    raw, floor = result.raw_ceiling, result.hop_floor

    def row(name: str, kafka: str, cells: list[str]) -> None:
        table.add_row(name, kafka, *cells)

    tops = [_top(p) for p in result.series]
    row(
        "records or verifications/s",
        f"{raw.records_per_s:,.0f} (ceiling)",
        [f"{p.headline.max_sustained_tps:,.0f} sustained" for p in result.series],
    )
    hop = "-" if floor is None else f"{floor.p50_ms:.0f} / {floor.p99_ms:.0f} (one hop)"
    row(
        "p50 / p99 ms",
        hop,
        [
            "-" if t is None else f"{t.p50_ms:.1f} / {t.p99_ms:.1f} at {t.offered_tps:,.0f}/s"
            for t in tops
        ],
    )
    row(
        "CPU ms/tx: driver / registry / broker",
        "-",
        [
            "-"
            if t is None or t.cpu is None
            else f"{t.cpu.driver_ms:.2f} / {t.cpu.registry_ms:.2f} / {t.cpu.broker_ms:.2f}"
            for t in tops
        ],
    )
    row(
        "simulator CPU / broker CPU",
        "-",
        [
            "-"
            if t is None or t.cpu is None or (r := simulator_to_broker(t.cpu)) is None
            else f"{r:.2f}x"
            for t in tops
        ],
    )
    row(
        "CPU ms/tx, all",
        "-",
        ["-" if t is None or t.cpu is None else f"{t.cpu.total_ms:.2f}" for t in tops],
    )
    last = [p.steps[-1] if p.steps else None for p in result.series]
    row(
        "limited by, last step",
        "-",
        ["-" if s is None else f"{s.limited_by or '-'} at {s.offered_tps:,.0f}/s" for s in last],
    )
    row(
        "targets met",
        "-",
        [
            f"{sum(c.result == 'PASS' for c in p.headline.checks)} of {len(p.headline.checks)}"
            for p in result.series
        ],
    )
    return table


def print_result(result: BenchResult, console: Console) -> None:
    for played in result.series:
        console.print(_steps_table(played))
    raw, host = result.raw_ceiling, result.host
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
    console.print(side_by_side(result))
    for played in result.series:
        _headline(played, console)
    load = ", ".join(f"{x:.2f}" for x in host.loadavg_end)
    console.print(f"{host.cpus} CPUs, load average at the end {load}; {result.path}")


def _headline(played: WorkerSeries, console: Console) -> None:
    head = played.headline
    at80, minutes = head.at_80pct, head.national_day_minutes
    at80_text = "not measured"
    if at80 is not None:
        at80_text = f"{at80.offered_tps:,.0f}/s: p50 {at80.p50_ms:.1f} ms, p99 {at80.p99_ms:.1f} ms"
    console.print(
        f"[bold]{series_name(played)}[/]: max sustained {head.max_sustained_tps:,.0f} "
        f"verifications/s = {head.ratio_to_raw_ceiling or 0:.1%} of the raw ceiling; at 80% of "
        f"it {at80_text}; a national day of 2024 (2.8 M) takes "
        f"{f'{minutes:,.1f} min' if minutes else '-'}"
    )
    for check in head.checks:
        colour = "green" if check.result == "PASS" else "red"
        console.print(f"  [{colour}]{check.result}[/] {check.name}")
