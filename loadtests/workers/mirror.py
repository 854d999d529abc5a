"""The workers' requester-side counters mirrored on the coordinator's /metrics: Prometheus
scrapes one load driver (`ndxsim run`), whatever the number and place of its workers."""

from __future__ import annotations

from prometheus_client import Counter
from pydantic import BaseModel

from services.process import metrics

MIRRORED: dict[str, Counter] = {
    "ndx_sharing_transactions": metrics.TRANSACTIONS,
    "ndx_driver_late_sends": metrics.LATE_SENDS,
    "ndx_request_timeouts": metrics.TIMEOUTS,
    "ndx_request_retries": metrics.RETRIES,
    "ndx_late_answers": metrics.LATE_ANSWERS,
}


class CounterSample(BaseModel):
    name: str
    labels: dict[str, str]
    value: float


def read_counters() -> list[CounterSample]:
    """This process's values of the mirrored counters, collected from those counters only
    (the whole registry holds every agency's histograms)."""
    return [
        CounterSample(name=family.name, labels=dict(s.labels), value=s.value)
        for counter in MIRRORED.values()
        for family in counter.collect()
        for s in family.samples
        if s.name == f"{family.name}_total"
    ]


class Mirror:
    """Adds what each worker's counters grew by since its last report."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = {}

    def take(self, worker: str, samples: list[CounterSample]) -> None:
        for s in samples:
            key = (worker, s.name, tuple(sorted(s.labels.items())))
            grown = s.value - self.seen.get(key, 0.0)
            if grown > 0:
                MIRRORED[s.name].labels(**s.labels).inc(grown)
                self.seen[key] = s.value
