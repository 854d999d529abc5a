"""A run limited by its design names the part that limited, with the figures that show it, in the
report, the terminal summary, the page and the comparison."""

from __future__ import annotations

from rich.console import Console

from loadtests.engine.workerreport import limited_by
from loadtests.pages.compare import summarize
from loadtests.pages.html import render_html
from loadtests.report import (
    ComponentCpu,
    CpuReport,
    DesignResult,
    PhaseReport,
    QueueReport,
    Spread,
)
from loadtests.report.files import print_summary, queue_line
from services.config.design import Design, RegistryDesign, ServiceTime, Topics
from tests.support.reports import run_report, worker_report


def design(instances: int = 1, partitions: int = 6) -> Design:
    registry = RegistryDesign(
        instances=instances, concurrency=4, service_time=ServiceTime(model="fixed", ms=40)
    )
    return Design(name="slow-db", registry=registry, topics=Topics(requests=partitions))


def queue(
    offered: float, instances: int = 1, answering: int | None = None, late: int = 0
) -> QueueReport:
    capacity = instances * 4 / 0.040
    return QueueReport(
        model="fixed",
        instances=instances,
        servers_per_instance=4,
        request_partitions=6,
        mean_service_ms=40.0,
        capacity_tps=capacity,
        offered_tps=offered,
        utilisation=round(offered / capacity, 4),
        instances_answering=answering,
        measured=Spread(p50_ms=52.0, p99_ms=900.0),
        ideal=Spread(p50_ms=48.0, p99_ms=880.0),
        added=Spread(p50_ms=4.0, p99_ms=20.0),
        within=True,
        late_answers=late,
        wasted_share=round(late / 100, 4) if late else None,
    )


def phase(q: QueueReport, timed_out: int = 0) -> PhaseReport:
    p = run_report().phases[0]
    return p.model_copy(update={"name": "2024H1", "queue": q, "timed_out": timed_out})


worker = worker_report


def cpu(**cores: float) -> CpuReport:
    parts = [
        ComponentCpu(component=c, ms_per_transaction=0.1, cores=k, peak_cores=k)
        for c, k in cores.items()
    ]
    return CpuReport(parts=parts, total_ms_per_transaction=0.5, window_s=30, cpus=2)


def test_a_registry_below_the_offered_rate_is_named_with_its_slots_and_wasted_work() -> None:
    phases = [phase(queue(140.0, late=78), timed_out=90)]
    limit = limited_by([worker()], 0.0, cpu(registry=0.2), {}, phases, design())
    assert limit.side == "design" and limit.part == "registry capacity"
    assert limit.reason == (
        "registry capacity 100/s (4 slots × 40 ms, 1 instance) below the offered 140/s; "
        "78% of its work answered requests already timed out (period 2024H1)"
    )
    assert limit.words.startswith("design: registry capacity 100/s (4 slots × 40 ms, 1 instance)")


def test_the_design_is_named_even_when_its_slow_registry_keeps_the_mimic_busy() -> None:
    phases = [phase(queue(140.0), timed_out=5)]
    limit = limited_by([worker()], 0.0, cpu(registry=0.95), {"registry": 1}, phases, design())
    assert limit.part == "registry capacity"
    assert limit.reason.endswith("; 5 request(s) timed out (period 2024H1)")


def test_a_registry_with_headroom_is_not_the_limit_but_its_headroom_is_stated() -> None:
    phases = [phase(queue(50.0))]
    limit = limited_by([worker()], 0.0, cpu(registry=0.2), {}, phases, design())
    assert (limit.side, limit.part) == ("design", None)
    assert (
        "registry capacity 100/s (4 slots × 40 ms, 1 instance), at most 50% of it" in limit.reason
    )


def test_request_partitions_that_leave_instances_idle_are_named() -> None:
    phases = [phase(queue(700.0, instances=8, answering=6), timed_out=3)]
    limit = limited_by([worker()], 0.0, None, {}, phases, design(instances=8, partitions=6))
    assert limit.part == "request partitions"
    assert limit.reason.startswith(
        "request partitions (6) leave 2 of 8 instances idle: the 6 that answer hold 600/s "
        "(4 slots × 40 ms, 6 instances), against the offered 700/s; 3 request(s) timed out"
    )


def test_brokers_filling_the_machine_are_named() -> None:
    limit = limited_by([worker()], 0.0, cpu(broker=1.3, registry=0.3, worker=0.3), {})
    assert limit.part == "broker CPU"
    assert limit.reason.startswith("broker CPU: the brokers used 1.30 of the machine's 2 cores")


def test_the_generator_comes_first_below_the_registrys_capacity() -> None:
    phases = [phase(queue(90.0, late=78), timed_out=5)]
    dead = limited_by([worker(finished=False)], 0.0, None, {}, phases, design())
    assert dead.side == "generator"
    late = limited_by([worker()], 0.2, None, {}, phases, design())
    assert late.side == "generator"


def test_past_the_registrys_capacity_the_design_is_named_whatever_the_generator_did() -> None:
    # What was sent already exceeded the slots: a late or dead generator only offered less.
    phases = [phase(queue(140.0, late=78))]
    for limit in (
        limited_by([worker(finished=False)], 0.0, None, {}, phases, design()),
        limited_by([worker()], 0.2, None, {}, phases, design()),
    ):
        assert (limit.side, limit.part) == ("design", "registry capacity")


def test_the_summary_page_and_comparison_state_the_queue_and_the_limit() -> None:
    report = run_report()
    report.phases[1].queue = queue(140.0, late=78)
    report.phases[1].late_answers_by_requester = {"ministry.vss": 78}
    report.limited_by = limited_by(
        [worker()], 0.0, None, {}, [phase(queue(140.0, late=78))], design()
    )
    line = queue_line(report.phases[1])
    assert line is not None
    assert line.startswith(
        "queue 2024H1: registry capacity 100/s (4 slots × 40 ms, 1 instance), offered 140/s, "
        "utilisation 140%; registry-side p50 52.0 ms (ideal 48.0), p99 900.0 ms (ideal 880.0)"
    )
    console = Console(record=True, width=400)
    print_summary(report, console)
    text = console.export_text()
    assert "queue 2024H1: registry capacity 100/s" in text
    assert "limited by the design: registry capacity 100/s" in text
    html = render_html(report)
    assert 'id="queue-section"' in html and 'id="late-answers"' in html
    assert "ministry.vss" in html
    lines = summarize([DesignResult(design="slow-db", run=report)])
    assert "limited by the design: registry capacity 100/s" in lines[0]
