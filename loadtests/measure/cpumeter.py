"""CPU of every part of a run (driver, services, brokers), sampled off the hot path with psutil.

A process's CPU counts from the moment the meter first saw it; CPU it spent before that (a
broker's start-up, minutes before the run) is only counted when the process was born since the
previous sample, so all of it falls inside the interval it is divided by. The busiest moment of a
part is taken over windows of at least PEAK_WINDOW_S: psutil reads CPU times in clock ticks
(10 ms), and a sample a few milliseconds after the one before (a mark right after the periodic
sample) would turn one tick per process into several cores. Peaks count only between the first
and the last mark, so the warm-up and the run's end never make one.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from loadtests.report import ComponentCpu, CpuReport
from services.process import cancel

__all__ = ["CpuMeter", "OwnCpu", "Parts", "ProcessTimes", "cpu_seconds", "psutil_times"]

Parts = Callable[[], dict[str, list[int]]]  # component -> the pids that make it up right now
ProcessTimes = Callable[[int], tuple[float, float] | None]  # pid -> (born, CPU seconds) or None
SAMPLE_S = 1.0
PEAK_WINDOW_S = 0.9  # a peak is CPU over at least this much wall time (a sample's, give or take)
BIRTH_SLACK_S = 0.05  # process start times are in clock ticks: born this close counts as since


def psutil_times(pid: int) -> tuple[float, float] | None:
    """When a process was born (wall clock) and its own CPU seconds so far (user + system)."""
    try:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        return proc.create_time(), times.user + times.system
    except psutil.Error:
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (its children apart); 0 once it is gone."""
    read = psutil_times(pid)
    return 0.0 if read is None else read[1]


class OwnCpu:
    """This process's CPU: seconds so far, and the cores it used since the last look."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.pid, self.clock = os.getpid(), clock
        self._last = (self.seconds(), clock())

    def seconds(self) -> float:
        return cpu_seconds(self.pid)

    def cores(self) -> float:
        """Cores used since the previous call (or since it was made)."""
        now = (self.seconds(), self.clock())
        (spent0, t0), (spent1, t1) = self._last, now
        self._last = now
        return max(spent1 - spent0, 0.0) / max(t1 - t0, 1e-6)


@dataclass
class _Totals:
    """CPU seconds per component since the meter began, with the busiest window of each."""

    seconds: dict[str, float] = field(default_factory=dict)
    peak_cores: dict[str, float] = field(default_factory=dict)


@dataclass
class _Window:
    """CPU gathered towards the next peak, until it spans PEAK_WINDOW_S."""

    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0


class CpuMeter:
    """Adds up each process's CPU between samples; a process that restarts is a new one."""

    def __init__(
        self,
        parts: Parts,
        times: ProcessTimes = psutil_times,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        cpus: int | None = None,
    ) -> None:
        self.parts, self.times, self.clock, self.wall_clock = parts, times, clock, wall_clock
        self.cpus = cpus or psutil.cpu_count() or 1
        self._seen: dict[tuple[int, float], float] = {}  # (pid, born) -> CPU seconds last seen
        self._totals = _Totals()
        self._window = _Window()
        self._marks: list[tuple[float, dict[str, float], dict[str, float]]] = []
        self._last = clock()
        self._last_wall: float | None = None  # wall clock of the previous sample
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
        now, wall_now = self.clock(), self.wall_clock()
        spent: dict[str, float] = {}
        for component, pids in self.parts().items():
            for pid in pids:
                spent[component] = spent.get(component, 0.0) + self._spent(pid)
        wall = max(now - self._last, 0.0)
        self._last, self._last_wall = now, wall_now
        t = self._totals
        for component, seconds in spent.items():
            t.seconds[component] = t.seconds.get(component, 0.0) + seconds
        if self._marks:  # peaks count from the first mark on
            self._gather(spent, wall)

    def _gather(self, spent: dict[str, float], wall: float) -> None:
        w = self._window
        for component, seconds in spent.items():
            w.seconds[component] = w.seconds.get(component, 0.0) + seconds
        w.wall += wall
        if w.wall < PEAK_WINDOW_S:
            return
        peaks = self._totals.peak_cores
        for component, seconds in w.seconds.items():
            # What is left above the machine's cores is tick rounding (at most a tick per
            # process per window), not CPU any part could have had.
            cores = min(seconds / w.wall, float(self.cpus))
            peaks[component] = max(peaks.get(component, 0.0), cores)
        self._window = _Window()

    def _spent(self, pid: int) -> float:
        """CPU seconds of one process since the previous sample. A process seen for the first
        time counts all its CPU only when it was born since that sample; else it is a baseline."""
        read = self.times(pid)
        if read is None:
            return 0.0
        born, total = read
        key = (pid, born)
        before = self._seen.get(key)
        self._seen[key] = total
        if before is None:
            new = self._last_wall is not None and born >= self._last_wall - BIRTH_SLACK_S
            return total if new else 0.0
        return max(0.0, total - before)

    def mark(self) -> None:
        """Begin or end a measured window (after the warm-up, after the last period)."""
        self.sample()
        if not self._marks:
            self._window = _Window()  # a peak window starts with the measured one
        self._marks.append(
            (self.clock(), dict(self._totals.seconds), dict(self._totals.peak_cores))
        )

    def report(self, transactions: int) -> CpuReport | None:
        """CPU per transaction of each component over the first and last mark, and each
        component's busiest window between them."""
        if len(self._marks) < 2:
            return None
        (t0, a, _), (t1, b, peaks) = self._marks[0], self._marks[-1]
        wall, n = max(t1 - t0, 1e-6), max(transactions, 1)
        parts = [
            ComponentCpu(
                component=c,
                ms_per_transaction=round(1000 * (b[c] - a.get(c, 0.0)) / n, 4),
                cores=round((b[c] - a.get(c, 0.0)) / wall, 3),
                peak_cores=round(peaks.get(c, 0.0), 3),
            )
            for c in sorted(b)
        ]
        total = sum(p.ms_per_transaction for p in parts)
        return CpuReport(
            parts=parts,
            total_ms_per_transaction=round(total, 4),
            window_s=round(wall, 2),
            cpus=self.cpus,
        )
