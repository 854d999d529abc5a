"""The ideal queue a design's registry is held to, computed after the run: per instance, c FIFO
servers fed the run's own arrivals (the requests' broker append times) and the service times the
registry drew. What the measured registry-side time exceeds it by is what the platform adds."""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Sequence

from loadtests.measure.queuesample import WINDOW_US, QueueSample
from loadtests.report import QueueMeasure, QueueReport, Spread
from services.config import Design

__all__ = [
    "TOLERANCE_MS",
    "TOLERANCE_SHARE",
    "close_enough",
    "fifo_sojourns",
    "ideal_sojourns",
    "quantile",
    "queue_report",
    "spread",
]

TOLERANCE_SHARE = 0.10  # measured within 10% of the ideal queue's time...
TOLERANCE_MS = 5.0  # ...or within 5 ms, whichever is larger (DESIGN.md's performance bar)


def fifo_sojourns(arrivals: Sequence[int], services: Sequence[int], servers: int) -> list[int]:
    """Each job's time from arrival to departure in a first-come-first-served queue of
    `servers` servers: it starts at max(its arrival, the earliest free server) and holds that
    server for its service time. Jobs may be given in any order; ties keep the given order."""
    if servers < 1:
        raise ValueError(f"a queue needs at least one server, not {servers}")
    free = [0] * servers  # when each server is next free; a heap, so free[0] is the earliest
    out = [0] * len(arrivals)
    for i in sorted(range(len(arrivals)), key=arrivals.__getitem__):
        arrival = arrivals[i]
        start = max(arrival, free[0])
        done = start + services[i]
        heapq.heapreplace(free, done)
        out[i] = done - arrival
    return out


def ideal_sojourns(sample: QueueSample, servers: int) -> list[int]:
    """Each sampled request's time in the ideal queue, µs. One queue per responder: an
    instance's slots serve only the partitions it holds. In a thinned sample every kept window
    is a queue of its own, started empty (its first requests wait a little less than in the run)."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i in range(len(sample)):
        window = sample.append_us[i] // WINDOW_US if sample.stride > 1 else 0
        groups.setdefault((sample.who[i], window), []).append(i)
    out = [0] * len(sample)
    for rows in groups.values():
        arrivals = [sample.append_us[i] for i in rows]
        services = [sample.service_us[i] for i in rows]
        for i, t in zip(rows, fifo_sojourns(arrivals, services, servers), strict=True):
            out[i] = t
    return out


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated between the two nearest ranks."""
    if not ordered:
        return 0.0
    at = q * (len(ordered) - 1)
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def spread(values_us: Sequence[int]) -> Spread:
    ordered = sorted(values_us)
    return Spread(
        p50_ms=round(quantile(ordered, 0.50) / 1000, 3),
        p99_ms=round(quantile(ordered, 0.99) / 1000, 3),
    )


def close_enough(measured: Spread, ideal: Spread) -> bool:
    """Both percentiles within 10% of the ideal's or 5 ms, whichever is larger."""
    pairs = ((measured.p50_ms, ideal.p50_ms), (measured.p99_ms, ideal.p99_ms))
    return all(abs(m - i) <= max(TOLERANCE_SHARE * i, TOLERANCE_MS) for m, i in pairs)


def queue_report(
    design: Design,
    duration_s: float,
    sample: QueueSample | None,
    measure: QueueMeasure | None = None,
    timed_out: int = 0,
    late_answers: int = 0,
    registry_answers: float | None = None,
) -> QueueReport | None:
    """The period's queue, or None when the design models no service time (no queue to state)."""
    registry = design.registry
    mean_ms = registry.service_time.mean_ms
    if mean_ms <= 0:
        return None
    servers = registry.concurrency
    capacity = registry.instances * servers * 1000 / mean_ms
    offered = (sample.offered if sample is not None else 0) / max(duration_s, 1e-9)
    report = QueueReport(
        model=registry.service_time.model,
        instances=registry.instances,
        servers_per_instance=servers,
        request_partitions=design.topics.requests,
        mean_service_ms=round(mean_ms, 3),
        capacity_tps=round(capacity, 2),
        offered_tps=round(offered, 2),
        utilisation=round(offered / capacity, 4),
        timed_out=timed_out,
        late_answers=late_answers,
        wasted_share=_wasted(late_answers, registry_answers),
        notes=[
            f"the ideal queue is one per registry instance, {servers} FIFO server(s) each: "
            "an instance's slots serve only the partitions it holds"
        ],
    )
    if measure is not None:
        report.slot_wait, report.slots_busy, report.lag = (
            measure.slot_wait,
            measure.slots_busy,
            measure.lag,
        )
    if sample is not None and len(sample):
        _compare(report, sample, servers, mean_ms)
    else:
        report.notes.append("no answered request carried a service time: nothing to compare")
    if timed_out or late_answers:
        report.notes.append(
            f"{timed_out} request(s) timed out and {late_answers} answer(s) came late: the "
            "ideal queue lacks the work of requests never answered in time, so it understates "
            "the queue"
        )
    return report


def _wasted(late_answers: int, registry_answers: float | None) -> float | None:
    """Late answers over the registry's answers; counted on two clocks a moment apart, so at
    most all of them."""
    if not registry_answers:
        return None
    return round(min(late_answers, registry_answers) / registry_answers, 4)


def _compare(report: QueueReport, sample: QueueSample, servers: int, mean_ms: float) -> None:
    n = len(sample)
    measured = [sample.answered_us[i] - sample.append_us[i] for i in range(n)]
    report.measured = spread(measured)
    report.ideal = spread(ideal_sojourns(sample, servers))
    report.added = Spread(
        p50_ms=round(report.measured.p50_ms - report.ideal.p50_ms, 3),
        p99_ms=round(report.measured.p99_ms - report.ideal.p99_ms, 3),
    )
    report.within = close_enough(report.measured, report.ideal)
    report.transactions = n
    report.sampled_share = round(1 / sample.stride, 4)
    report.drawn_service_ms = round(sum(sample.service_us) / n / 1000, 3)
    shares = Counter(sample.who)
    report.instances_answering = len(shares)
    busiest = max(shares.values()) / n
    report.busiest_utilisation = round(busiest * report.offered_tps * mean_ms / 1000 / servers, 4)
    if sample.stride > 1:
        report.notes.append(
            f"compared on every {sample.stride}th {WINDOW_US // 1_000_000}-second window of "
            f"append time ({n} transactions), to bound memory; each window a queue started empty"
        )
