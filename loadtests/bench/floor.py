"""The latency floor: Kafka's own end-to-end tool, one produce->consume hop with acks=all."""

from __future__ import annotations

import re
from pathlib import Path

from loadtests.bench.ceiling import kafka_tool
from loadtests.bench.figures import BenchError
from loadtests.bench.model import HopFloor

__all__ = ["FLOOR_TOPIC", "hop_floor", "parse_end_to_end"]

FLOOR_TOPIC, E2E_TOOL = "bench.floor", "org.apache.kafka.tools.EndToEndLatency"
_AVG = re.compile(r"Avg latency: (?P<avg>[\d.]+) ms")
_PCT = re.compile(r"Percentiles: 50th = (?P<p50>\d+), 99th = (?P<p99>\d+), 99\.9th = (?P<p999>\d+)")


def parse_end_to_end(output: str, messages: int, size: int) -> HopFloor:
    """The tool's two summary lines as numbers."""
    avg, pct = _AVG.search(output), _PCT.search(output)
    if avg is None or pct is None:
        raise BenchError(f"no EndToEndLatency summary in its output:\n{output[-500:]}")
    return HopFloor(
        messages=messages,
        record_size=size,
        avg_ms=float(avg["avg"]),
        p50_ms=float(pct["p50"]),
        p99_ms=float(pct["p99"]),
        p999_ms=float(pct["p999"]),
    )


def hop_floor(bootstrap: str, size: int, messages: int, config: Path | None = None) -> HopFloor:
    """One record at a time, sent then read back: a request-reply is two of these hops (logged
    in through `config`, a client properties file, on a secured broker)."""
    args = [
        bootstrap,
        FLOOR_TOPIC,
        str(messages),
        "all",
        str(size),
        *([str(config)] if config else []),
    ]
    output = kafka_tool(E2E_TOOL, args, "256m", f"EndToEndLatency of {messages} messages")
    return parse_end_to_end(output, messages, size)
