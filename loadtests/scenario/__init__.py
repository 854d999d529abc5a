"""What to play: scenario files, agencies, arrivals, the seeded schedule and the checked plan."""

from __future__ import annotations

from loadtests.scenario.agencies import PlayedAgency, played_agencies
from loadtests.scenario.model import MAX_PLANNED_ARRIVALS, Scenario, ScenarioError
from loadtests.scenario.parts import (
    BulkJob,
    Diurnal,
    Errors,
    Fault,
    KillBroker,
    KillRegistry,
    Period,
    Poison,
    RestartBroker,
    RogueAgency,
    SchemaRoll,
    SellerFaults,
    Slo,
    SlowAgency,
    StopRegistry,
)
from loadtests.scenario.plan import new_run_id, prepare
from loadtests.scenario.schedule import Arrival, PeriodPlan, Scheduler

__all__ = [
    "MAX_PLANNED_ARRIVALS",
    "Arrival",
    "BulkJob",
    "Diurnal",
    "Errors",
    "Fault",
    "KillBroker",
    "KillRegistry",
    "Period",
    "PeriodPlan",
    "PlayedAgency",
    "Poison",
    "RestartBroker",
    "RogueAgency",
    "Scenario",
    "ScenarioError",
    "Scheduler",
    "SchemaRoll",
    "SellerFaults",
    "Slo",
    "SlowAgency",
    "StopRegistry",
    "new_run_id",
    "played_agencies",
    "prepare",
]
