"""What a run measured: ledgers, hops, timelines, CPU, growth from metrics and the ideal queue."""

from __future__ import annotations

from loadtests.measure.cpumeter import CpuMeter, OwnCpu, cpu_seconds
from loadtests.measure.growth import Measured, Meter, Snapshot, measured
from loadtests.measure.hops import EncodedHops, HopLedger
from loadtests.measure.ledger import Counts, PhaseLedger, add, encode, latency_summary, totals
from loadtests.measure.oprecord import FILE_NAME, Judgement, OpRecord
from loadtests.measure.pressure import PressureMeter
from loadtests.measure.queueing import queue_report
from loadtests.measure.queuesample import QueueSample
from loadtests.measure.records import RECORD_PART, combine_records
from loadtests.measure.timeline import SecondWire, Timeline, add_seconds, timeline_wire

__all__ = [
    "FILE_NAME",
    "RECORD_PART",
    "Counts",
    "CpuMeter",
    "EncodedHops",
    "HopLedger",
    "Judgement",
    "Measured",
    "Meter",
    "OpRecord",
    "OwnCpu",
    "PhaseLedger",
    "PressureMeter",
    "QueueSample",
    "SecondWire",
    "Snapshot",
    "Timeline",
    "add",
    "add_seconds",
    "combine_records",
    "cpu_seconds",
    "encode",
    "latency_summary",
    "measured",
    "queue_report",
    "timeline_wire",
    "totals",
]
