"""What the services show while their broker is away: readiness, log lines and CPU, measured."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import psutil
from prometheus_client.parser import text_string_to_metric_families

from loadtests.report import BrokerOutage

POLL_S = 0.2


class Observed(Protocol):
    """A running service as the stack knows it (loadtests.stack.serviceproc.ServiceProcess)."""

    name: str
    metrics_port: int
    log_path: Path

    @property
    def kind(self) -> str: ...
    @property
    def pid(self) -> int | None: ...


def readiness(port: int, service: str, timeout: float = 1.0) -> float | None:
    """The value of ndx_service_ready{service} at a /metrics port; None when it cannot be read."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
            text = r.read().decode()
    except OSError:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ndx_service_ready" and sample.labels.get("service") == service:
                return float(sample.value)
    return None


def log_lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _poll(
    services: Sequence[Observed], want: float, limit_s: float, into: dict[str, float | None]
) -> None:
    """Record, per service, seconds until its readiness shows `want` (None if not within limit)."""
    started = time.monotonic()
    into.update({s.name: None for s in services})
    while time.monotonic() - started < limit_s:
        for svc in services:
            if into[svc.name] is None and readiness(svc.metrics_port, svc.kind) == want:
                into[svc.name] = round(time.monotonic() - started, 2)
        if all(v is not None for v in into.values()):
            return
        time.sleep(POLL_S)


def observe_outage(
    services: Sequence[Observed],
    stop: Callable[[], object],
    start: Callable[[], object],
    down_s: float,
    ready_limit_s: float = 90.0,
) -> BrokerOutage:
    """Stop the broker for down_s, watching readiness fall, then start it and watch it return."""
    lines = {s.name: log_lines(s.log_path) for s in services}
    stop()
    t_down = time.monotonic()
    cpu = {s.name: cpu_seconds(s.pid) for s in services}
    not_ready: dict[str, float | None] = {}
    _poll(services, 0.0, down_s, not_ready)
    time.sleep(max(0.0, down_s - (time.monotonic() - t_down)))
    elapsed = time.monotonic() - t_down
    cpu_down = {s.name: round((cpu_seconds(s.pid) - cpu[s.name]) / elapsed, 4) for s in services}
    lines_down = {s.name: log_lines(s.log_path) - lines[s.name] for s in services}
    t_start = time.monotonic()
    start()
    restart_s = time.monotonic() - t_start
    ready: dict[str, float | None] = {}
    _poll(services, 1.0, ready_limit_s, ready)
    return BrokerOutage(
        down_s=round(elapsed, 2),
        restart_s=round(restart_s, 2),
        not_ready_after_s=not_ready,
        ready_again_s=ready,
        log_lines_down=lines_down,
        cpu_share_down=cpu_down,
        log_lines={s.name: log_lines(s.log_path) - lines[s.name] for s in services},
    )
