"""Load workers: a coordinator and its workers share a run through Kafka's group protocol."""

from __future__ import annotations

from loadtests.workers.coordinator import Coordinator
from loadtests.workers.results import WorkerState, late_by_requester, period_queue
from loadtests.workers.spawn import LocalWorkers, default_workers
from loadtests.workers.worker import Worker

__all__ = [
    "Coordinator",
    "LocalWorkers",
    "Worker",
    "WorkerState",
    "default_workers",
    "late_by_requester",
    "period_queue",
]
