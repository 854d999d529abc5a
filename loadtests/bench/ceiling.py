"""The raw Kafka ceiling: Kafka's own producer benchmark with records the size of a real request."""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from loadtests.bench.figures import BenchError, parse_producer_performance
from loadtests.bench.model import ProducerRun, RawCeiling
from loadtests.bench.stepscenario import template
from loadtests.cluster import ensure_jars
from loadtests.measure import cpu_seconds
from loadtests.play import Workload
from services.wire import Catalogue, Codec
from services.world import Population

RAW_TOPIC, PERF_TOOL = "bench.raw", "org.apache.kafka.tools.ProducerPerformance"
PROBE_RECORDS, MAX_RECORDS, TOOL_TIMEOUT_S = 50_000, 3_000_000, 180
COLD_FACTOR = 2.0  # a cold JVM and broker run the probe at about half the warm rate


def typical_record_size(seed: int) -> int:
    """Median encoded size of VerificationRequested as the driver builds them, faults included."""
    codec = Codec(Catalogue())
    workload = Workload(Population(seed), template().errors, random.Random(seed))
    run_id, now_us = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-bench-04-2000", time.time_ns() // 1000
    sizes = []
    for i in range(10_000, 11_000):
        request, _ = workload.verification("province.079", "079", f"{run_id}:{i:x}", now_us)
        sizes.append(len(codec.encode(request)))
    return round(statistics.median(sizes))


def kafka_tool(tool: str, args: list[str], heap: str, what: str) -> str:
    """Run one of Kafka's own Java tools from the fetched jars; its standard output, or a
    BenchError naming `what` it was doing."""
    if (java := shutil.which("java")) is None:
        raise BenchError(f"Java ('java') is not on PATH; Kafka's {tool} needs it")
    cmd = [java, f"-Xmx{heap}", "-cp", f"{ensure_jars()}/*", tool, *args]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what} took over {TOOL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise BenchError(f"{tool} exited {done.returncode}:\n{done.stderr[-800:]}")
    return done.stdout


def producer_performance(
    bootstrap: str, size: int, records: int, config: Path | None = None
) -> ProducerRun:
    """One run of Kafka's own producer benchmark, unthrottled, acks=all (logged in through
    `config` on a secured broker)."""
    args = [
        "--topic",
        RAW_TOPIC,
        "--num-records",
        str(records),
        "--record-size",
        str(size),
        "--throughput",
        "-1",
        "--producer-props",
        f"bootstrap.servers={bootstrap}",
        "acks=all",
        *(["--producer.config", str(config)] if config else []),
    ]
    t0 = time.monotonic()
    output = kafka_tool(PERF_TOOL, args, "512m", f"ProducerPerformance of {records} records")
    wall = round(time.monotonic() - t0, 2)
    return parse_producer_performance(output).model_copy(update={"wall_s": wall})


def raw_ceiling(
    bootstrap: str, size: int, seconds: float, broker: int, config: Path | None = None
) -> RawCeiling:
    """A short probe sizes the measured run so that it lasts about `seconds`."""
    probe = producer_performance(bootstrap, size, PROBE_RECORDS, config)
    wanted = probe.records_per_s * COLD_FACTOR * seconds
    records = int(min(max(wanted, PROBE_RECORDS), MAX_RECORDS))
    spent = cpu_seconds(broker)
    result = producer_performance(bootstrap, size, records, config)
    broker_ms = 1000 * (cpu_seconds(broker) - spent) / records
    return RawCeiling(
        **result.model_dump(), record_size=size, broker_cpu_ms_per_record=round(broker_ms, 4)
    )
