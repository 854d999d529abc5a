"""CPU of every part of a run (driver, services, brokers), sampled off the hot path with psutil."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from loadtests.reportmodel import ComponentCpu, CpuReport
from services.shared.background import cancel

__all__ = ["CpuMeter", "Parts"]

Parts = Callable[[], dict[str, list[int]]]  # component -> the pids that make it up right now
SAMPLE_S = 1.0


@dataclass
class _Totals:
    """CPU seconds per component since the meter began, with the busiest second of each."""

    seconds: dict[str, float] = field(default_factory=dict)
    peak_cores: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0


class CpuMeter:
    """Adds up each process's CPU between samples; a process that restarts is a new one."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._procs: dict[tuple[int, float], tuple[str, psutil.Process, float]] = {}
        self._totals = _Totals()
        self._marks: list[tuple[float, dict[str, float]]] = []
        self._last = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.sample()
        self._task = asyncio.create_task(self._every())

    async def stop(self) -> None:
        await cancel([self._task])
        self.sample()

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_S)
            self.sample()

    def sample(self) -> None:
        now = time.monotonic()
        spent: dict[str, float] = {}
        for component, pids in self.parts().items():
            for pid in pids:
                spent[component] = spent.get(component, 0.0) + self._spent(component, pid)
        wall = max(now - self._last, 1e-6)
        self._last = now
        for component, seconds in spent.items():
            t = self._totals
            t.seconds[component] = t.seconds.get(component, 0.0) + seconds
            t.peak_cores[component] = max(t.peak_cores.get(component, 0.0), seconds / wall)

    def _spent(self, component: str, pid: int) -> float:
        """CPU seconds of one process since it was last seen (all of it when new)."""
        try:
            proc = psutil.Process(pid)
            key = (pid, proc.create_time())
            times = proc.cpu_times()
        except psutil.Error:
            return 0.0
        total = times.user + times.system
        _, known, before = self._procs.get(key, (component, proc, 0.0))
        self._procs[key] = (component, known, total)
        return max(0.0, total - before)

    def mark(self) -> None:
        """Begin or end a measured window (after the warm-up, after the last period)."""
        self.sample()
        self._marks.append((time.monotonic(), dict(self._totals.seconds)))

    def report(self, transactions: int) -> CpuReport | None:
        """CPU per transaction of each component over the first and last mark."""
        if len(self._marks) < 2:
            return None
        (t0, a), (t1, b) = self._marks[0], self._marks[-1]
        wall, n = max(t1 - t0, 1e-6), max(transactions, 1)
        parts = [
            ComponentCpu(
                component=c,
                ms_per_transaction=round(1000 * (b[c] - a.get(c, 0.0)) / n, 4),
                cores=round((b[c] - a.get(c, 0.0)) / wall, 3),
                peak_cores=round(self._totals.peak_cores.get(c, 0.0), 3),
            )
            for c in sorted(b)
        ]
        total = sum(p.ms_per_transaction for p in parts)
        return CpuReport(
            parts=parts,
            total_ms_per_transaction=round(total, 4),
            window_s=round(wall, 2),
            cpus=psutil.cpu_count() or 1,
        )
