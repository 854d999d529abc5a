"""CPU seconds of driver, services and broker, read from /proc around the played period."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from loadtests.bench.model import CpuPerTransaction
from services.shared import metrics

HZ = os.sysconf("SC_CLK_TCK")
POLL_S = 0.02


def stat_ticks(stat: str) -> tuple[int, int]:
    """(ppid, utime + stime) from a /proc/<pid>/stat line whose command may hold ') '."""
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def machine_busy_ticks(proc_stat: str) -> int:
    """Busy jiffies of all CPUs from /proc/stat: everything but idle and iowait."""
    values = [int(v) for v in proc_stat.splitlines()[0].split()[1:9]]
    return sum(values) - values[3] - values[4]


def service_kind(cmdline: bytes) -> str | None:
    """`registry` for a `python -m services.registry` command line, `worker` for a load worker
    (`python -m loadtests worker`); None for anything else."""
    args = cmdline.split(b"\0")
    for (flag, module), (_, command) in itertools.pairwise(itertools.pairwise([*args, b""])):
        if flag == b"-m" and module.startswith(b"services."):
            return module.removeprefix(b"services.").decode()
        if flag == b"-m" and module == b"loadtests" and command == b"worker":
            return "worker"
    return None


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


def proc_ticks(pid: int) -> int:
    """utime + stime of a process in clock ticks; 0 once it is gone."""
    try:
        return stat_ticks(Path(f"/proc/{pid}/stat").read_text())[1]
    except (OSError, IndexError, ValueError):
        return 0


def jit_ticks(pid: int) -> int:
    """CPU ticks of a JVM's JIT compiler threads (C1 and C2)."""
    total = 0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (task / "stat").read_text()
                if "CompilerThre" in stat.split(")", 1)[0]:
                    total += stat_ticks(stat)[1]
    return total


def service_pids() -> dict[int, str]:
    """This process's children that run a service (RunStack starts them), with their kind."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            if stat_ticks((entry / "stat").read_text())[0] != os.getpid():
                continue
            if (kind := service_kind((entry / "cmdline").read_bytes())) is not None:
                found[int(entry.name)] = kind
    return found


def snapshot(services: dict[int, str], broker: int) -> CpuSnapshot:
    spent: dict[str, float] = {}
    for pid, kind in services.items():
        spent[kind] = spent.get(kind, 0.0) + proc_ticks(pid) / HZ
    workers = spent.pop("worker", 0.0)  # the load generator's processes count as the driver
    return CpuSnapshot(
        wall=time.monotonic(),
        driver=time.process_time() + workers,
        broker=proc_ticks(broker) / HZ,
        machine=machine_busy_ticks(Path("/proc/stat").read_text()) / HZ,
        services=spent,
        broker_jit=jit_ticks(broker) / HZ,
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
