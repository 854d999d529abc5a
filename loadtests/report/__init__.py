"""The typed run report: what `run`, `capacity`, the summary, the HTML and the tests all read."""

from __future__ import annotations

from loadtests.report.base import SCHEMA_VERSION, Latency, Part, ReportError, Sparse
from loadtests.report.bulk import BulkJobReport, BulkReport, LaneLoad, ThrottleReport, WrongItem
from loadtests.report.compare import CompareReport, DesignResult
from loadtests.report.design import CacheReport, DesignReport, ReplicaReport
from loadtests.report.examples import ExampleStamps, IncorrectExample
from loadtests.report.files import print_summary, write_report
from loadtests.report.hops import Heatmap, HopLatencies, HopsReport, LinkReport
from loadtests.report.parts import (
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
from loadtests.report.queue import QueueLag, QueueMeasure, QueueReport, SlotsBusy, Spread
from loadtests.report.run import PhaseReport, RunReport, Totals, load_report
from loadtests.report.workers import Limit, WorkerReport

__all__ = [
    "SCHEMA_VERSION",
    "BrokerOutage",
    "BulkJobReport",
    "BulkReport",
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
    "Heatmap",
    "HopLatencies",
    "HopsReport",
    "IncorrectExample",
    "LaneLoad",
    "Latency",
    "Limit",
    "LinkReport",
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
    "ThrottleReport",
    "TimelineSecond",
    "Totals",
    "WorkerReport",
    "WrongItem",
    "load_report",
    "print_summary",
    "write_report",
]
