"""Wiring of `make bench`: one broker, the raw ceiling, the stepped series, bench.json."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from datetime import UTC, datetime

from rich.console import Console

from loadtests.bench import secured
from loadtests.bench.ceiling import RAW_TOPIC, raw_ceiling, typical_record_size
from loadtests.bench.figures import BenchError, headline
from loadtests.bench.floor import FLOOR_TOPIC, hop_floor
from loadtests.bench.model import BenchResult, Host, Options, WorkerSeries
from loadtests.bench.steps import clients_label, series
from loadtests.bench.stopping import Terminated, until_terminated
from loadtests.bench.table import plural, print_result, step_line
from loadtests.cluster import BrokerError
from loadtests.cluster.localbroker import LocalBroker
from loadtests.scenario import ScenarioError
from loadtests.stack import StackError, free_port
from services.config import SettingsError, load_settings
from services.kafka import KafkaTransport, TransportError
from services.process import setup_logging
from services.wire import VERIFY, TopicSpec


async def bench(opts: Options, console: Console) -> BenchResult:
    """Everything on one fresh local broker, which is stopped whatever happens."""
    started, t0 = datetime.now(UTC), time.monotonic()
    out = opts.runs_dir / f"bench-{started:%Y%m%d-%H%M%S}"
    size = typical_record_size(load_settings().seed)
    out = out.with_name(out.name + ("-secured" if opts.security else "-plaintext"))
    broker = LocalBroker(
        opts.broker_dir / out.name,
        port=free_port(),
        controller_port=free_port(),
        secured=opts.security,
    )
    load = os.getloadavg()
    console.print(
        f"[bold]ndxsim bench[/] (security {'on' if opts.security else 'off'}): "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f}; "
        f"a VerificationRequested is {size} bytes; starting a broker"
    )
    starting = asyncio.ensure_future(asyncio.to_thread(broker.start))
    try:
        bootstrap = await asyncio.shield(starting)
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
        plan = [(c, n) for c in opts.clients for n in opts.worker_counts]
        with secured.credentials_in_env(credentials):
            for n, (clients, workers) in enumerate(plan):
                console.print(f"[bold]{plural(workers)} on {clients_label(clients)}[/]")
                share = (t0 + opts.budget_s - time.monotonic()) / (len(plan) - n)
                steps = await series(
                    opts,
                    (clients, workers),
                    bootstrap,
                    broker.pid,
                    out,
                    time.monotonic() + share,
                    lambda i, step: console.print(step_line(i, step)),
                )
                head = headline(steps, ceiling.records_per_s, floor.avg_ms)
                played.append(
                    WorkerSeries(
                        workers=workers,
                        library=clients.library,
                        agencies=clients.agencies_apart(),
                        steps=steps,
                        headline=head,
                    )
                )
    finally:
        with contextlib.suppress(BaseException):  # a broker still starting is stopped once up
            await starting
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


def play(chosen: list[Options], console: Console) -> int:
    """Exit 0 when the bench ran, PASS or MISS alike; 1 when it could not run; 2 for bad input;
    130 on Ctrl-C and 143 on SIGTERM, once the broker and services are stopped."""
    setup_logging("bench", "WARNING")
    results = []
    try:
        for opts in chosen:
            results.append(asyncio.run(until_terminated(bench(opts, console))))
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
    except Terminated:
        console.print("bench: terminated; broker and services stopped")
        return 143
    if len(results) == 2:
        secured.print_cost(results[0], results[1], console)
    return 0
