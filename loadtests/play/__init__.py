"""Playing the load: the open-model driver, one player per flow, and what it watches."""

from __future__ import annotations

from loadtests.play.driver import Driver
from loadtests.play.periodloop import PeriodHook, StartHook, play_periods
from loadtests.play.workload import Workload

__all__ = ["Driver", "PeriodHook", "StartHook", "Workload", "play_periods"]
