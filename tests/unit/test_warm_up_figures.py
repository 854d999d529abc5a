"""The warm-up is accounted for but makes no figure of the run: its slow first seconds neither
rank the links nor enter the whole run's hops, nor the queue compared with the ideal one."""

from __future__ import annotations

from loadtests.measure.hops import WARMUP, HopLedger
from services.requester.pending import Result
from services.wire.messages import Outcome, VerificationAnswered, VerificationRequested
from services.wire.stamps import Stamps

T0 = 1_700_000_000_000_000


def transaction(latency_us: int, rid: str = "r") -> tuple[VerificationRequested, Result]:
    request = VerificationRequested(
        rid, "ministry.vss", "001200000001", "A", "2000-01-01", "p", "s", T0
    )
    answer = VerificationAnswered(
        rid, "ministry.vss", "registry-1", "MATCH", T0 + latency_us // 2, service_us=5_000
    )
    stamps = Stamps(
        T0, T0 + 100, T0 + latency_us, T0 // 1000 + 1, T0 + 2_000, T0 + latency_us // 2, 0
    )
    return request, Result(Outcome.MATCH, answer, latency_us / 1e6, 1, stamps)


def test_warm_up_transactions_rank_no_link_and_enter_no_whole_run_hop() -> None:
    hops = HopLedger()
    for i in range(50):
        hops.record("ministry.vss", "verify", WARMUP, *transaction(900_000, f"w{i}"))
    for i in range(50):
        hops.record("ministry.vss", "verify", "2024H1", *transaction(20_000, f"p{i}"))
    report = hops.report()
    (link,) = report.links
    assert link.count == 50
    assert link.latency_ms.p99 < 25
    assert report.flows["verify"]["registry"].p99 < 15
    assert WARMUP in report.phases  # still shown, under its own name
    assert len(hops.queue.take(WARMUP)) == 50  # the worker drops it: never compared
    assert len(hops.queue.take("2024H1")) == 50
