"""Reset-aware counter increases from periodic scrapes, as PromQL's increase() reads them; the
quantiles of a histogram's bucket counts; and gauges summed over instances, peak and mean."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from loadtests.stack import scrape

Series = tuple[str, tuple[tuple[str, str], ...]]  # sample name, sorted labels
STARTED = "process_start_time_seconds"


def parse(text: str, wanted: frozenset[str]) -> tuple[dict[Series, float], float | None]:
    """The wanted samples of one /metrics page, and the process start time when it has one."""
    samples: dict[Series, float] = {}
    started = None
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == STARTED:
                started = float(s.value)
            elif s.name in wanted:
                samples[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return samples, started


def read_all(
    sources: Sequence[tuple[int, frozenset[str]]],
) -> list[tuple[str, dict[Series, float], float | None]]:
    """Scrape every port once; a process that does not answer (restarting) is left out."""
    out = []
    for port, wanted in sources:
        try:
            text = scrape(port, names=wanted | {STARTED})
        except OSError:
            continue
        out.append((str(port), *parse(text, wanted)))
    return out


@dataclass
class _Seen:
    started: float | None
    last: dict[Series, float]


class Increases:
    """Per-series increase since each instance was first seen, summed over instances.

    A counter that drops, or an instance whose process start time changed, was restarted: its
    new value is all increase. A series that appears later started from zero.
    """

    def __init__(self) -> None:
        self.total: dict[Series, float] = {}
        self._seen: dict[str, _Seen] = {}

    def add(self, instance: str, samples: Mapping[Series, float], started: float | None) -> None:
        seen = self._seen.get(instance)
        if seen is None:  # the baseline: what was counted before the meter started is not ours
            self._seen[instance] = _Seen(started, dict(samples))
            return
        restarted = None not in (started, seen.started) and started != seen.started
        for series, value in samples.items():
            before = 0.0 if restarted else seen.last.get(series, 0.0)
            rise = value - before if value >= before else value
            if rise:
                self.total[series] = self.total.get(series, 0.0) + rise
        seen.started, seen.last = started, dict(samples)


def bucket_quantile(q: float, cumulative: Mapping[float, float]) -> float | None:
    """The q-quantile of a Prometheus histogram from its cumulative bucket counts (upper
    bound → count), interpolated within the bucket as histogram_quantile() does; None when it
    counted nothing. A rank in the +Inf bucket is given the highest finite bound."""
    bounds = sorted(cumulative)
    total = cumulative[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank = q * total
    low, below = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):
                return low
            if count <= below:
                return bound
            return low + (bound - low) * (rank - below) / (count - below)
        low, below = bound, count
    return low


@dataclass(frozen=True)
class GaugeStat:
    peak: float
    mean: float


class GaugeSums:
    """Gauges summed over every instance at each scrape, kept with the scrape's time until
    taken: the peak and mean of those sums over a span. A gauge no instance showed in a scrape
    is left out of it, never taken as 0."""

    def __init__(self, keep: Callable[[Series], bool] = lambda _series: True) -> None:
        self.keep = keep
        self._scrapes: list[tuple[float, dict[str, float]]] = []

    def add(self, scrape: Sequence[Mapping[Series, float]], at: float) -> None:
        """One round of scrapes taken at `at`, one mapping per instance that answered."""
        sums: dict[str, float] = {}
        for samples in scrape:
            for series, value in samples.items():
                if self.keep(series):
                    sums[series[0]] = sums.get(series[0], 0.0) + value
        self._scrapes.append((at, sums))

    def take(self, since: float | None = None, until: float | None = None) -> dict[str, GaugeStat]:
        """What the scrapes from `since` to `until` saw (every one kept, when not given); all
        kept so far are then dropped, the next span starts empty."""
        values: dict[str, list[float]] = {}
        for at, sums in self._scrapes:
            if (since is None or at >= since) and (until is None or at <= until):
                for name, value in sums.items():
                    values.setdefault(name, []).append(value)
        self._scrapes = []
        return {name: GaugeStat(max(v), sum(v) / len(v)) for name, v in values.items()}
