"""Reset-aware counter increases from periodic scrapes, as PromQL's increase() reads them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from loadtests.serviceproc import scrape

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
