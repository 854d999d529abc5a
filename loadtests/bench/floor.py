"""The latency floor: Kafka's own end-to-end tool, one produce->consume hop with acks=all."""

from __future__ import annotations

import re
import shutil
import subprocess

from loadtests.bench.figures import BenchError
from loadtests.bench.model import HopFloor
from loadtests.localbroker import ensure_jars

__all__ = ["FLOOR_TOPIC", "hop_floor", "parse_end_to_end"]

FLOOR_TOPIC, E2E_TOOL, TOOL_TIMEOUT_S = "bench.floor", "org.apache.kafka.tools.EndToEndLatency", 180
_AVG = re.compile(r"Avg latency: (?P<avg>[\d.]+) ms")
_PCT = re.compile(r"Percentiles: 50th = (?P<p50>\d+), 99th = (?P<p99>\d+), 99\.9th = (?P<p999>\d+)")


def parse_end_to_end(output: str, messages: int, size: int) -> HopFloor:
    """The tool's two summary lines as numbers."""
    avg, pct = _AVG.search(output), _PCT.search(output)
    if avg is None or pct is None:
        raise BenchError(f"no EndToEndLatency summary in its output:\n{output[-500:]}")
    return HopFloor(messages=messages, record_size=size, avg_ms=float(avg["avg"]),
                    p50_ms=float(pct["p50"]), p99_ms=float(pct["p99"]),
                    p999_ms=float(pct["p999"]))  # fmt: skip


def hop_floor(bootstrap: str, size: int, messages: int) -> HopFloor:
    """One record at a time, sent then read back: a request-reply is two of these hops."""
    if (java := shutil.which("java")) is None:
        raise BenchError("Java ('java') is not on PATH; Kafka's latency tool needs it")
    cmd = [java, "-Xmx256m", "-cp", f"{ensure_jars()}/*", E2E_TOOL, bootstrap, FLOOR_TOPIC,
           str(messages), "all", str(size)]  # fmt: skip
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"EndToEndLatency of {messages} messages took over 180 s") from None
    if done.returncode != 0:
        raise BenchError(f"EndToEndLatency exited {done.returncode}:\n{done.stderr[-800:]}")
    return parse_end_to_end(done.stdout, messages, size)
