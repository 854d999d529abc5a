"""The report names the slowest link, splits it into hops, and draws links and agencies."""

from __future__ import annotations

from loadtests.measure.hops import HopLedger
from loadtests.report import RunReport
from services.requester.pending import Result
from services.wire.messages import Outcome, VerificationAnswered, VerificationRequested
from services.wire.stamps import Stamps
from tests.support.reports import run_report
from tests.unit.test_htmlreport import page

T0 = 1_790_000_000_000_000
REQUEST = VerificationRequested("r", "x", "001099000001", "A", "1999-01-01", "p", "", 0)


def result(at_us: int, reply_ms: int, registry_ms: int = 2) -> Result:
    """A transaction with 1 ms generator delay, 3 ms request hop and the given other hops."""
    received = at_us + 1_000 + 3_000 + registry_ms * 1_000 + reply_ms * 1_000
    stamps = Stamps(
        at_us, at_us + 1_000, received, 0, at_us + 4_000, at_us + 4_000 + registry_ms * 1_000, 0
    )
    answer = VerificationAnswered("r", "x", "registry-1", "MATCH", 0)
    return Result(Outcome.MATCH, answer, (received - at_us) / 1e6, 1, stamps)


def slow_reply_ledger() -> HopLedger:
    ledger = HopLedger()
    for i in range(200):
        at = T0 + i * 50_000
        ledger.record("province.001", "verify", "2024H1", REQUEST, result(at, 5))
        ledger.record("ministry.vss", "verify", "2024H1", REQUEST, result(at, 400))
        ledger.record("ministry.vss", "lookup", "2024H1", REQUEST, result(at, 6))
    return ledger


def test_the_link_whose_replies_are_slow_is_named_slowest_with_its_time_in_reply() -> None:
    hops = slow_reply_ledger().report()
    assert hops.slowest == "ministry.vss × verify"
    slowest = hops.links[0]
    assert slowest.hops_ms["reply"].p99 > 300
    assert slowest.hops_ms["registry"].p99 < 5
    assert [link.name for link in hops.links[1:]] == [
        "ministry.vss × lookup",
        "province.001 × verify",
    ]


def with_hops() -> RunReport:
    report = run_report()
    report.hops = slow_reply_ledger().report()
    return report


def test_the_page_ranks_links_splits_hops_and_draws_both_hop_charts() -> None:
    found = page(with_hops())
    assert found.rows["links"] == ["link"] * 3
    assert found.by_id("slowest-link") and found.by_id("chart-hops")
    assert found.by_id("chart-link-heatmap")
    assert "ministry.vss × verify" in "".join(found.text)
    assert len(found.rows["hops-by-flow"]) == 2 * 4 * 2  # two flows, four hops, run and period


def test_a_report_with_hops_reads_back_as_written() -> None:
    report = with_hops()
    assert RunReport.model_validate_json(report.model_dump_json()) == report


def test_a_report_without_hops_has_no_hop_section() -> None:
    found = page(run_report())
    assert not found.by_id("hops-section")
