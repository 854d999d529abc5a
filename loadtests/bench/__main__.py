"""Wiring of `make bench`: one broker, the raw ceiling, the stepped series, bench.json."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from loadtests.bench import secured
from loadtests.bench.ceiling import RAW_TOPIC, raw_ceiling, typical_record_size
from loadtests.bench.figures import QUICK_RATES, RATES, BenchError, headline
from loadtests.bench.floor import FLOOR_TOPIC, hop_floor
from loadtests.bench.model import BenchResult, Host, Options, WorkerSeries
from loadtests.bench.steps import series
from loadtests.bench.table import plural, print_result, step_line
from loadtests.localbroker import BrokerError, LocalBroker
from loadtests.scenario import MAX_PLANNED_ARRIVALS, ScenarioError
from loadtests.serviceproc import StackError, free_port
from services.shared.app import setup_logging
from services.shared.kafka import KafkaTransport
from services.shared.settings import REPO_ROOT, SettingsError, load_settings
from services.shared.topics import MAX_SHARES, VERIFY, TopicSpec
from services.shared.transport import TransportError

WIDE = 200  # columns of the table when the output is a file or a pipe
DESCRIPTION = (
    "Measure end-to-end verifications/s through a fresh local broker and a real registry, in rate"
    " steps, with p50/p99 and CPU per transaction, against Kafka's own producer ceiling."
)


async def bench(opts: Options, console: Console) -> BenchResult:
    """Everything on one fresh local broker, which is stopped whatever happens."""
    started, t0 = datetime.now(UTC), time.monotonic()
    out = opts.runs_dir / f"bench-{started:%Y%m%d-%H%M%S}"
    size = typical_record_size(load_settings().seed)
    out = out.with_name(out.name + ("-secured" if opts.security else "-plaintext"))
    data = REPO_ROOT / ".cache" / "brokers" / out.name
    broker = LocalBroker(data, port=free_port(), controller_port=free_port(), secured=opts.security)
    load = os.getloadavg()
    console.print(
        f"[bold]ndxsim bench[/] (security {'on' if opts.security else 'off'}): "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f}; "
        f"a VerificationRequested is {size} bytes; starting a broker"
    )
    bootstrap = await asyncio.to_thread(broker.start)
    try:
        assert broker.pid is not None
        tools = [TopicSpec(RAW_TOPIC, None, VERIFY.partitions), TopicSpec(FLOOR_TOPIC, None, 1)]
        config, credentials = None, None
        if broker.admin is not None:
            credentials = await asyncio.to_thread(secured.prepare, broker, tools)
            config = secured.perf_config(broker.admin, broker.data_dir)
        else:
            await KafkaTransport(bootstrap).ensure_topics(tools)
        ceiling = await asyncio.to_thread(
            raw_ceiling, bootstrap, size, opts.ceiling_seconds, broker.pid, config
        )
        console.print(f"raw Kafka ceiling: {ceiling.records_per_s:,.0f} records/s")
        floor = await asyncio.to_thread(hop_floor, bootstrap, size, opts.floor_messages, config)
        console.print(f"one-hop floor: avg {floor.avg_ms:.2f} ms, p99 {floor.p99_ms:.0f} ms")
        played: list[WorkerSeries] = []
        counts = opts.worker_counts
        with secured.credentials_in_env(credentials):
            for n, workers in enumerate(counts):
                console.print(f"[bold]{plural(workers)}[/]")
                share = (t0 + opts.budget_s - time.monotonic()) / (len(counts) - n)
                steps = await series(
                    opts,
                    workers,
                    bootstrap,
                    broker.pid,
                    out,
                    time.monotonic() + share,
                    lambda i, step: console.print(step_line(i, step)),
                )
                head = headline(steps, ceiling.records_per_s, floor.avg_ms)
                played.append(WorkerSeries(workers=workers, steps=steps, headline=head))
    finally:
        await asyncio.to_thread(broker.stop)
        shutil.rmtree(broker.data_dir, ignore_errors=True)
    result = BenchResult(
        started_at=started,
        elapsed_s=round(time.monotonic() - t0, 1),
        host=Host(cpus=os.cpu_count(), loadavg_start=load, loadavg_end=os.getloadavg()),
        options=opts,
        raw_ceiling=ceiling,
        hop_floor=floor,
        series=played,
        path=str(out / "bench.json"),
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def _counts(text: str) -> tuple[int, ...]:
    """`2` or `1,4`: worker counts, each series played once, in the order given."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or N,M,... got {text!r}") from None
    if len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"a count is repeated in {text!r}")
    return counts


def options(argv: list[str] | None) -> list[Options]:
    """One Options per series: security off, on, or both (off first)."""
    p = argparse.ArgumentParser(prog="python -m loadtests.bench", description=DESCRIPTION)
    p.add_argument("--quick", action="store_true", help="fewer, shorter steps (a smoke run)")
    p.add_argument("--max-rate", type=float, help="highest offered rate, verifications/s")
    p.add_argument("--step-seconds", type=float, help="length of each step (15; 5 with --quick)")
    p.add_argument("--warm-up-s", type=float, help="unmeasured traffic first (30; 10 quick)")
    p.add_argument("--registries", type=int, default=1, help="registry instances in each step")
    p.add_argument(
        "--budget-s", type=float, help="time for every series of one security mode (720; 200 quick)"
    )
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="where bench-*/ goes")
    p.add_argument(
        "--security",
        choices=("on", "off", "both"),
        default="both",
        help="the series on a plaintext broker, a secured one, or both (default): "
        "what security costs",
    )
    p.add_argument(
        "--workers",
        type=_counts,
        default=None,
        metavar="N[,M...]",
        help="one series per number of worker processes, on the same broker "
        "(default: 1 and one per CPU)",
    )
    a = p.parse_args(argv)
    if not 1 <= a.registries <= 8:
        p.error("--registries must be between 1 and 8")
    for name in ("max_rate", "step_seconds", "warm_up_s", "budget_s"):
        if (value := getattr(a, name)) is not None and not 0 < value < math.inf:
            p.error(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    try:
        a.runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        p.error(f"--runs-dir {a.runs_dir}: {exc.strerror or exc}")
    q = a.quick
    opts = Options(
        quick=q,
        max_rate=a.max_rate or (QUICK_RATES[-1] if q else RATES[-1]),
        step_seconds=a.step_seconds or (5.0 if q else 15.0),
        warm_up_s=a.warm_up_s or (10.0 if q else 30.0),
        registries=a.registries,
        budget_s=a.budget_s or (200.0 if q else 720.0),
        ceiling_seconds=4.0 if q else 12.0,
        floor_messages=500 if q else 3000,
        runs_dir=a.runs_dir,
        worker_counts=a.workers or tuple(sorted({1, max(1, os.cpu_count() or 1)})),
    )
    if any(not 1 <= n <= MAX_SHARES for n in opts.worker_counts):
        p.error(f"--workers: each count must be 1..{MAX_SHARES}, got {a.workers}")
    if opts.max_rate * max(opts.step_seconds, opts.warm_up_s) > MAX_PLANNED_ARRIVALS:
        p.error(
            f"--max-rate x --step-seconds (or --warm-up-s) plans more than the "
            f"{MAX_PLANNED_ARRIVALS:,} arrivals a step may hold"
        )
    modes = {"off": [False], "on": [True], "both": [False, True]}[a.security]
    return [opts.model_copy(update={"security": on}) for on in modes]


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when the bench ran, PASS or MISS alike; 1 when it could not run; 2 for bad input."""
    chosen = options(argv)
    setup_logging("bench", "WARNING")
    console = Console(width=None if sys.stdout.isatty() else WIDE)
    results = []
    try:
        for opts in chosen:
            results.append(asyncio.run(bench(opts, console)))
            print_result(results[-1], console)
    except (BenchError, BrokerError, StackError, TransportError) as exc:
        console.print(f"[red]bench: error:[/] {exc}", highlight=False)
        return 1
    except (ScenarioError, SettingsError) as exc:
        console.print(f"[red]bench: error:[/] {exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("bench: interrupted; broker and services stopped")
        return 130
    if len(results) == 2:
        secured.print_cost(results[0], results[1], console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
