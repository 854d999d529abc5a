"""Playing the load: the open-model driver, one player per flow, and what it watches."""

from __future__ import annotations

from loadtests.play.bulk import BulkRunner, split_by_weight
from loadtests.play.driver import Driver
from loadtests.play.periodloop import PeriodHook, StartHook, play_periods
from loadtests.play.workload import Workload

__all__ = [
    "BulkRunner",
    "Driver",
    "PeriodHook",
    "StartHook",
    "Workload",
    "play_periods",
    "split_by_weight",
]
