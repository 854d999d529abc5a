"""Bulk sharing as people read it: the comparison names the design that protected the counter
and what that cost the job, its rows carry each design's bulk figures, and the run's page and
terminal summary show each job, the throttle and the lanes."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.engine.compare import print_compare
from loadtests.pages import bulk_verdict, summarize
from loadtests.pages.charts import charts
from loadtests.pages.compare import render_compare
from loadtests.pages.html import render_html
from loadtests.report import (
    BulkJobReport,
    BulkReport,
    CompareReport,
    DesignResult,
    LaneLoad,
    Latency,
    RunReport,
    ThrottleReport,
    WrongItem,
    print_summary,
)
from tests.support.reports import compare_report, run_report

PERIODS = (("before", 300.0, None), ("during", 300.0, None), ("after", 300.0, None))
TAXABLE = {"ENTERPRISE": 5693, "INDIVIDUAL": 22871}


def job(completed_s: float | None, items_per_s: float | None, **changes: object) -> BulkJobReport:
    """The reconciliation of 30,000 sellers in `during`, every one answered and right."""
    fields: dict[str, object] = {
        "name": "sellers-2024",
        "period": "during",
        "items": 30000,
        "individuals": 24000,
        "enterprises": 6000,
        "shares": 62,
        "answered": 30000,
        "correct": 30000,
        "incorrect": 0,
        "lost": 0,
        "duplicates": 0,
        "chunks": 62,
        "submitted_at_s": 34.8,
        "completed_s": completed_s,
        "deadline_s": 180.0,
        "met_deadline": completed_s is not None and completed_s <= 180.0,
        "items_per_s": items_per_s,
        "outcomes": {"MATCH": 28564, "MISMATCH": 899, "NOT_FOUND": 301, "DECEASED": 179},
        "taxable": dict(TAXABLE),
        "share_latency_ms": Latency(p50=2895.0, p95=5691.0, p99=5719.0, max=5731.0),
    }
    return BulkJobReport.model_validate({**fields, **changes})


def bulk(
    lane: str,
    the_job: BulkJobReport,
    quotas: dict[str, dict[str, float]] | None = None,
    throttle: list[ThrottleReport] | None = None,
) -> BulkReport:
    """The bulk side of a run: one job, its lanes as the registry counted them."""
    lanes = (
        [LaneLoad(lane="shared", interactive=27820, bulk=30000)]
        if lane == "shared"
        else [
            LaneLoad(lane="shared", interactive=27820, bulk=0),
            LaneLoad(lane="separate", interactive=0, bulk=30000),
        ]
    )
    return BulkReport(
        lane=lane,
        chunk=500 if not quotas else 100,
        quotas=quotas or {},
        jobs=[the_job],
        throttle=throttle or [],
        lanes=lanes,
        taxable_counted={k: float(v) for k, v in TAXABLE.items()},
        bulk_items_counted=30000.0,
    )


def played(design: str, verify_p99: tuple[float, float, float], side: BulkReport) -> RunReport:
    """A run of before / during / after whose verify p99 in each period is `verify_p99`."""
    report = run_report(periods=PERIODS, run_id=f"20261207-000000-ecommerce-tax-{design}")
    phases = [
        p.model_copy(
            update={
                "flow_latency_ms": {
                    **p.flow_latency_ms,
                    "verify": Latency(p50=5.0, p95=p99 / 2, p99=p99, max=p99 * 2),
                }
            }
        )
        for p, p99 in zip(report.phases, verify_p99, strict=True)
    ]
    return report.model_copy(
        update={"scenario": "ecommerce-tax", "phases": phases, "bulk": side, "growth": None}
    )


QUOTA = {"ministry.tax": {"producer_byte_rate": 98304.0}}
TAX_THROTTLED = ThrottleReport(
    principal="ministry.tax", kind="produce", peak_ms=839.6, mean_ms=424.9, seconds_throttled=57
)
IDLE = ThrottleReport(
    principal="ministry.health", kind="produce", peak_ms=0.0, mean_ms=0.0, seconds_throttled=0
)


def shared() -> DesignResult:
    run = played("bulk-shared", (14.1, 507.9, 24.8), bulk("shared", job(6.858, 4374.7)))
    return DesignResult(design="bulk-shared", run=run)


def lane() -> DesignResult:
    run = played("bulk-lane", (13.9, 20.8, 12.5), bulk("separate", job(7.109, 4219.7)))
    return DesignResult(design="bulk-lane", run=run)


def quota() -> DesignResult:
    side = bulk("shared", job(25.82, 1161.9), QUOTA, [IDLE, TAX_THROTTLED])
    run = played("bulk-quota", (27.5, 59.3, 16.1), side)
    return DesignResult(design="bulk-quota", run=run)


def compared(results: list[DesignResult]) -> CompareReport:
    """What `ndxsim compare` builds from its runs, bulk figures and verdict included."""
    return CompareReport(
        compare_id="20261207-000000-ecommerce-tax-compare",
        scenario="ecommerce-tax",
        scenario_file="loadtests/scenarios/ecommerce-tax.yaml",
        seed=6,
        started_at=datetime(2026, 12, 7, tzinfo=UTC),
        results=results,
        summary=summarize(results),
        bulk=[s for r in results if (s := r.bulk_side()) is not None],
        bulk_summary=bulk_verdict(results),
    )


def text(html: str) -> str:
    """The page's words without its tags and scripts, spaces squeezed."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return text(html[start : html.index("</section>", start)])


def test_the_verdict_names_the_design_that_kept_the_counter_and_what_the_job_paid() -> None:
    words = bulk_verdict([shared(), lane(), quota()])
    assert words == (
        "bulk-lane protected the counter: verify p99 during the job 21 ms (14 ms before it), "
        "against 508 ms on bulk-shared (24× higher); the job took 7.1 s, as fast as "
        "bulk-shared's 6.9 s."
    )


def test_a_protection_that_slows_the_job_says_by_how_much_and_whether_it_kept_the_deadline() -> (
    None
):
    words = bulk_verdict([shared(), quota()])
    assert words is not None
    assert words.startswith("bulk-quota protected the counter best: verify p99 during the job")
    assert "59 ms (28 ms before it), against 508 ms on bulk-shared (8.6× higher)" in words
    assert words.endswith(
        "the job took 25.8 s, 3.8× bulk-shared's 6.9 s, still within its 180 s deadline."
    )


def test_a_missed_deadline_and_the_fastest_job_are_said_in_so_many_words() -> None:
    slow = lane()
    assert slow.run.bulk is not None
    slow.run.bulk.jobs[0] = job(200.0, 150.0)
    words = bulk_verdict([shared(), slow])
    assert words is not None and words.startswith("bulk-lane protected the counter:")
    assert words.endswith(
        "the job took 200.0 s, 29× bulk-shared's 6.9 s, missing its 180 s deadline."
    )
    quick = lane()
    assert quick.run.bulk is not None
    quick.run.bulk.jobs[0] = job(5.0, 6000.0)
    words = bulk_verdict([shared(), quick, quota()])
    assert words is not None and words.endswith("the job took 5.0 s, the fastest of the designs.")


def test_without_a_period_before_the_job_the_lowest_p99_during_it_wins() -> None:
    results = [shared(), lane(), quota()]
    for r in results:
        r.run.phases = r.run.phases[1:]  # the job's period comes first
    words = bulk_verdict(results)
    assert words is not None
    assert words.startswith(
        "bulk-lane protected the counter best: verify p99 during the job 21 ms,"
    )


def test_an_unfinished_job_and_lost_items_are_its_cost() -> None:
    broken = lane()
    assert broken.run.bulk is not None
    broken.run.bulk.jobs[0] = job(None, None, answered=29000, lost=1000, incorrect=3)
    words = bulk_verdict([shared(), broken])
    assert words is not None
    assert words.endswith(
        "the job did not finish: 29,000 of 30,000 items answered, with 1,000 lost and 3 incorrect."
    )


def test_no_verdict_without_two_designs_that_played_a_bulk_job() -> None:
    assert bulk_verdict(compare_report().results) is None
    assert bulk_verdict([lane()]) is None
    assert bulk_verdict([lane(), compare_report().results[0]]) is None


def test_the_rows_carry_each_designs_bulk_figures_and_only_the_quotad_throttle() -> None:
    report = compared([shared(), lane(), quota()])
    rows = {s.design: s for s in report.bulk}
    assert list(rows) == ["bulk-shared", "bulk-lane", "bulk-quota"]
    q = rows["bulk-quota"]
    assert (q.lane, q.chunk, q.quotas) == ("shared", 100, QUOTA)
    assert [(t.principal, t.peak_ms, t.mean_ms) for t in q.throttle] == [
        ("ministry.tax", 839.6, 424.9)
    ]
    [figures] = q.jobs
    assert figures.completed_s == 25.82 and figures.items_per_s == 1161.9
    assert figures.met_deadline and (figures.lost, figures.incorrect) == (0, 0)
    assert q.counter_flow == "verify"
    assert {p: q.counter_p99(p) for p in q.counter_ms} == {
        "before": 27.5,
        "during": 59.3,
        "after": 16.1,
    }
    separate = rows["bulk-lane"]
    assert [(x.lane, x.bulk, x.interactive) for x in separate.lanes] == [
        ("shared", 0, 27820),
        ("separate", 30000, 0),
    ]
    assert separate.throttle == []
    assert report.bulk_summary is not None and report.bulk_summary.startswith("bulk-lane")
    again = CompareReport.model_validate_json(report.model_dump_json())
    assert again.bulk == report.bulk and again.bulk_summary == report.bulk_summary


def verify_p99s(html: str, period: str) -> list[str]:
    """The verify p99 each design's column shows for `period` in the side-by-side table."""
    row = re.search(rf'data-period="{period}" data-flow="verify">(.*?)</tr>', html, flags=re.S)
    assert row is not None, period
    cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
    return [c.split(" / ")[1] for c in cells[1:]]  # after the row's name


def test_the_comparison_page_has_the_verdict_the_bulk_table_and_each_periods_verify_p99() -> None:
    html = render_compare(compared([shared(), lane(), quota()]), here=Path())
    assert "bulk-lane protected the counter" in section(html, "summary")
    assert verify_p99s(html, "before") == ["14.1", "13.9", "27.5"]
    assert verify_p99s(html, "during") == ["507.9", "20.8", "59.3"]
    assert verify_p99s(html, "after") == ["24.8", "12.5", "16.1"]
    assert "during: verify p50 / p99 ms (bulk job)" in section(html, "side-by-side")
    table = section(html, "bulk-section")
    for figure in (
        "6.9 (180.0)",
        "7.1 (180.0)",
        "25.8 (180.0)",
        "4,374.7",
        "1,161.9",
        "ministry.tax (produce): 839.6 · 424.9, 57 s throttled",
        "ministry.tax: producer_byte_rate 98,304",
        "separate: 30,000 · 0",
        "30,000 of 30,000",
    ):
        assert figure in table, figure
    assert 'id="compare-bulk"' in html


def test_a_comparison_without_bulk_has_no_bulk_section() -> None:
    html = render_compare(compare_report(), here=Path())
    assert 'id="bulk-section"' not in html and 'id="bulk-summary"' not in html
    assert "base: verify p50 / p99 ms" in text(html)


def quota_run() -> RunReport:
    run = quota().run
    assert run.bulk is not None
    run.bulk.jobs[0] = job(
        25.82,
        1161.9,
        answered=29998,
        correct=29995,
        incorrect=3,
        lost=2,
        duplicates=1,
        wrong=[WrongItem(seller_ref="shopee-000123", expected="MATCH", got="MISMATCH")],
    )
    return run


def test_the_run_page_has_a_bulk_section_with_jobs_taxable_throttle_lanes_and_wrong_answers() -> (
    None
):
    report = quota_run()
    html = render_html(report)
    assert 'href="#bulk-section"' in html
    words = section(html, "bulk-section")
    assert "lane shared chunk 100 items" in words
    assert "ministry.tax: producer_byte_rate 98,304" in words
    jobs = words[words.index("Jobs") : words.index("Outcomes")]
    assert "sellers-2024 during 30,000 29,998 29,995 3 2 1 62 (0) 25.8 180.0 yes 1,161.9" in jobs
    assert "ENTERPRISE 5,693 5,693 INDIVIDUAL 22,871 22,871" in words
    assert "ministry.tax produce producer_byte_rate 98,304 839.6 424.9 57" in words
    assert "ministry.health" not in words  # never throttled, no quota
    assert "shared 27,820 30,000" in words
    assert "sellers-2024 shopee-000123 MATCH MISMATCH" in words
    assert "chart-bulk-lanes" in charts(report) and 'id="chart-bulk-lanes"' in html


def test_the_run_page_of_a_run_without_bulk_has_no_bulk_section() -> None:
    html = render_html(run_report())
    assert 'id="bulk-section"' not in html and "#bulk-section" not in html


def printed(report: RunReport) -> str:
    out = io.StringIO()
    print_summary(report, Console(file=out, width=240, color_system=None))
    return out.getvalue()


def test_the_terminal_summary_prints_each_job_the_taxable_counts_and_the_quotad_throttle() -> None:
    lines = printed(quota_run()).splitlines()
    assert (
        "bulk sellers-2024 (during): 29,998 of 30,000 answered, 2 lost, 3 incorrect, "
        "1 duplicates; completed in 25.8 s against a 180 s deadline (met), 1,161.9 items/s"
    ) in lines
    assert (
        "bulk taxable: ENTERPRISE 5,693 counted by the tax authority, 5,693 by the driver; "
        "INDIVIDUAL 22,871 counted by the tax authority, 22,871 by the driver"
    ) in lines
    assert (
        "bulk throttle ministry.tax (produce): peak 839.6 ms, mean 424.9 ms, 57 s throttled"
    ) in lines
    assert not [line for line in lines if "ministry.health" in line]
    assert "bulk lanes: shared 30,000 bulk items, 27,820 interactive answers" in lines
    assert not [line for line in printed(run_report()).splitlines() if "bulk" in line]


@pytest.mark.parametrize("with_bulk", [True, False])
def test_the_terminal_comparison_prints_the_bulk_table_and_verdict_when_there_is_one(
    with_bulk: bool,
) -> None:
    report = compared([shared(), lane(), quota()]) if with_bulk else compare_report()
    out = io.StringIO()
    print_compare(report, Console(file=out, width=300, color_system=None))
    shown = out.getvalue()
    assert all(line in shown for line in report.summary)
    if with_bulk:
        assert "bulk sharing on 3 designs" in shown
        assert "during (job) verify p50/p99 ms" in shown
        assert "25.8 / 180 met" in shown and "ministry.tax 840/425" in shown
        assert "separate 30,000/0" in shown
        assert f"• {report.bulk_summary}" in shown
    else:
        assert "bulk" not in shown
