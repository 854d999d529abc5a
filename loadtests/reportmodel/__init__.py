"""The typed run report: what `run`, `capacity`, the summary, the HTML and the tests all read."""

from loadtests.reportmodel.base import SCHEMA_VERSION, Latency, Part, ReportError, Sparse
from loadtests.reportmodel.compare import CompareReport, DesignResult
from loadtests.reportmodel.design import CacheReport, DesignReport, ReplicaReport
from loadtests.reportmodel.examples import ExampleStamps, IncorrectExample
from loadtests.reportmodel.parts import (
    BrokerOutage,
    CapacityResult,
    CapacityStep,
    ComponentCpu,
    CpuReport,
    FaultRecord,
    Growth,
    OnlineShare,
    Paths,
    RogueAttempt,
    SloCheck,
    SloVerdict,
    TimelineSecond,
)
from loadtests.reportmodel.queue import QueueLag, QueueMeasure, QueueReport, SlotsBusy, Spread
from loadtests.reportmodel.run import PhaseReport, RunReport, Totals, load_report
from loadtests.reportmodel.workers import Limit, WorkerReport

__all__ = [
    "SCHEMA_VERSION",
    "BrokerOutage",
    "CacheReport",
    "CapacityResult",
    "CapacityStep",
    "CompareReport",
    "ComponentCpu",
    "CpuReport",
    "DesignReport",
    "DesignResult",
    "ExampleStamps",
    "FaultRecord",
    "Growth",
    "IncorrectExample",
    "Latency",
    "Limit",
    "OnlineShare",
    "Part",
    "Paths",
    "PhaseReport",
    "QueueLag",
    "QueueMeasure",
    "QueueReport",
    "ReplicaReport",
    "ReportError",
    "RogueAttempt",
    "RunReport",
    "SloCheck",
    "SloVerdict",
    "SlotsBusy",
    "Sparse",
    "Spread",
    "TimelineSecond",
    "Totals",
    "WorkerReport",
    "load_report",
]
