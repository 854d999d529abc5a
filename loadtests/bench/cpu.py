"""The bench's CPU window: CPU seconds of driver, services and broker (read by the run's meter)
snapshotted around the played period, the machine's busy time and the broker's JIT apart."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import psutil
from prometheus_client.metrics import MetricWrapperBase

from loadtests.bench.model import CpuPerTransaction
from loadtests.measure import cpu_seconds
from services.process import metrics

POLL_S = 0.02
JIT_THREAD = "CompilerThre"  # HotSpot's C1 and C2 compiler threads: "C2 CompilerThre"
IDLE = ("idle", "iowait", "guest", "guest_nice")  # guest time is already inside user and nice
GONE = (psutil.NoSuchProcess, psutil.AccessDenied)


class ThreadTimes(Protocol):
    """One thread as psutil.Process.threads() lists it."""

    @property
    def id(self) -> int: ...
    @property
    def user_time(self) -> float: ...
    @property
    def system_time(self) -> float: ...


def busy_seconds(times: Mapping[str, float]) -> float:
    """Busy CPU seconds of the machine from psutil.cpu_times(): all but idle and iowait."""
    return sum(v for name, v in times.items() if name not in IDLE)


def service_kind(cmdline: Sequence[str]) -> str | None:
    """`registry` for a `python -m services.registry` command line, `worker` for a load worker
    (`python -m loadtests worker`); None for anything else."""
    for (flag, module), (_, command) in itertools.pairwise(itertools.pairwise([*cmdline, ""])):
        if flag == "-m" and module.startswith("services."):
            return module.removeprefix("services.")
        if flag == "-m" and module == "loadtests" and command == "worker":
            return "worker"
    return None


def compiler_seconds(threads: Iterable[ThreadTimes], name_of: Callable[[int], str]) -> float:
    """CPU seconds of a JVM's JIT compiler threads, told apart by their names."""
    return sum(t.user_time + t.system_time for t in threads if JIT_THREAD in name_of(t.id))


def thread_name(tid: int) -> str:
    """A thread's own name: on Linux psutil reads a thread id as it reads a process id."""
    try:
        return psutil.Process(tid).name()
    except GONE:
        return ""


def jit_seconds(pid: int) -> float:
    """CPU seconds of a JVM's JIT compiler threads (C1 and C2): a cost that fades once warm."""
    try:
        threads = psutil.Process(pid).threads()
    except GONE:
        return 0.0
    return compiler_seconds(threads, thread_name)


def service_pids() -> dict[int, str]:
    """This process's children that run a service or a worker (execute() starts them)."""
    found = {}
    for child in psutil.Process().children():
        try:
            kind = service_kind(child.cmdline())
        except GONE:
            continue
        if kind is not None:
            found[child.pid] = kind
    return found


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """CPU seconds consumed so far by each part, and by the whole machine, at one instant."""

    wall: float
    driver: float
    broker: float
    machine: float
    services: dict[str, float]  # by kind: registry, monitor, ...
    broker_jit: float = 0.0  # part of broker: its JIT compiler threads, a cost that fades


def cpu_per_transaction(a: CpuSnapshot, b: CpuSnapshot, transactions: int) -> CpuPerTransaction:
    """CPU-ms per transaction of each part between two snapshots, and others' cores meanwhile."""
    n, wall = max(transactions, 1), max(b.wall - a.wall, 1e-9)

    def per_tx(seconds: float) -> float:
        return round(1000 * seconds / n, 4)

    services = {kind: spent - a.services.get(kind, 0.0) for kind, spent in b.services.items()}
    driver, broker = b.driver - a.driver, b.broker - a.broker
    ours = driver + broker + sum(services.values())
    return CpuPerTransaction(
        driver_ms=per_tx(driver),
        broker_ms=per_tx(broker),
        registry_ms=per_tx(services.pop("registry", 0.0)),
        other_services_ms={kind: per_tx(spent) for kind, spent in sorted(services.items())},
        total_ms=per_tx(ours),
        broker_jit_ms=per_tx(b.broker_jit - a.broker_jit),
        window_s=round(wall, 3),
        our_cores=round(ours / wall, 3),
        other_cores=round(max(0.0, b.machine - a.machine - ours) / wall, 3),
    )


def snapshot(services: dict[int, str], broker: int) -> CpuSnapshot:
    spent: dict[str, float] = {}
    for pid, kind in services.items():
        spent[kind] = spent.get(kind, 0.0) + cpu_seconds(pid)
    workers = spent.pop("worker", 0.0)  # the load generator's processes count as the driver
    return CpuSnapshot(
        wall=time.monotonic(),
        driver=cpu_seconds(os.getpid()) + workers,
        broker=cpu_seconds(broker),
        machine=busy_seconds(psutil.cpu_times()._asdict()),
        services=spent,
        broker_jit=jit_seconds(broker),
    )


def _value(metric: MetricWrapperBase) -> float:
    return sum(s.value for family in metric.collect() for s in family.samples)


@dataclass
class Window:
    """From the period's first send until its last request is answered or timed out."""

    start: CpuSnapshot | None = None
    end: CpuSnapshot | None = None


async def watch(scenario: str, period: str, broker: int, window: Window) -> None:
    """Snapshot CPU at the edges of the played period, seen through the driver's own gauges."""
    active = metrics.SCENARIO_PERIOD.labels(scenario, period)
    services: dict[int, str] = {}
    while window.end is None:
        playing = _value(active) >= 1
        if window.start is None and playing:
            services = service_pids()
            window.start = snapshot(services, broker)
        elif window.start is not None and not playing and _value(metrics.IN_FLIGHT) <= 0:
            window.end = snapshot(services, broker)
        await asyncio.sleep(POLL_S)
