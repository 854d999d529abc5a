"""The typed run report: what `run`, `capacity`, the summary, the HTML and the tests all read."""

from loadtests.reportmodel.base import SCHEMA_VERSION, Latency, Part, ReportError, Sparse
from loadtests.reportmodel.parts import (
    BrokerOutage,
    CapacityResult,
    CapacityStep,
    FaultRecord,
    Growth,
    OnlineShare,
    Paths,
    SloCheck,
    SloVerdict,
    TimelineSecond,
)
from loadtests.reportmodel.run import PhaseReport, RunReport, Totals, load_report

__all__ = [
    "SCHEMA_VERSION",
    "BrokerOutage",
    "CapacityResult",
    "CapacityStep",
    "FaultRecord",
    "Growth",
    "Latency",
    "OnlineShare",
    "Part",
    "Paths",
    "PhaseReport",
    "ReportError",
    "RunReport",
    "SloCheck",
    "SloVerdict",
    "Sparse",
    "TimelineSecond",
    "Totals",
    "load_report",
]
