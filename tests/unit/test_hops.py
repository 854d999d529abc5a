"""A transaction's hops add up to its latency, whatever the clocks say; ledgers merge exactly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from loadtests.measure.hops import HopLedger
from loadtests.measure.oprecord import OpRecord
from services.kafka.twin import MemoryBus
from services.requester.agency import AgencyClient
from services.requester.pending import Result
from services.wire.codec import Catalogue, Codec
from services.wire.stamps import HOPS, Stamps, split
from tests.support.inproc import registry_loop
from tests.unit.test_retries import AGENCY, requests

T0 = 1_790_000_000_000_000
ANSWERED_V3 = "vn.gov.ndx.VerificationAnswered"
offsets = st.integers(-2_000_000, 2_000_000)


@given(offsets, offsets, offsets, offsets, st.integers(0, 5_000_000))
def test_hops_add_up_to_the_latency_exactly_and_none_is_negative_under_any_skew(
    sent: int, received: int, work: int, skew: int, latency: int
) -> None:
    s = Stamps(
        T0,
        T0 + sent,
        T0 + latency,
        registry_received_us=T0 + received + skew,
        registry_answered_us=T0 + received + skew + abs(work),
    )
    hops = split(s)
    assert hops is not None
    assert hops.total_us == latency
    assert min(hops.by_name().values()) >= 0


def test_a_skewed_registry_clock_moves_time_between_request_and_reply_only() -> None:
    def stamps(skew: int) -> Stamps:
        return Stamps(T0, T0 + 1_000, T0 + 20_000, 0, T0 + 6_000 + skew, T0 + 9_000 + skew)

    true, skewed = split(stamps(0)), split(stamps(2_000))
    assert true is not None and skewed is not None
    assert (true.generator_us, true.registry_us) == (skewed.generator_us, skewed.registry_us)
    assert true.request_us + true.reply_us == skewed.request_us + skewed.reply_us
    assert skewed.request_us - true.request_us == 2_000


def test_an_answer_without_registry_stamps_is_not_split() -> None:
    assert split(Stamps(T0, T0 + 10, T0 + 500)) is None


async def _results(
    codec: Codec, n: int = 30, reader: Codec | None = None
) -> list[tuple[str, Result]]:
    bus = MemoryBus()
    async with registry_loop(bus, codec=codec):
        client = AgencyClient(AGENCY, bus, reader or Codec(Catalogue()), timeout_s=5.0)
        await client.start()
        reqs = requests(n)
        results = await asyncio.gather(*(client.request(r) for r in reqs))
        await client.stop()
    return [(r.citizen_id, res) for r, res in zip(reqs, results, strict=True)]


async def test_a_requester_gets_every_stamp_and_the_hops_add_up_to_its_latency() -> None:
    for _, result in await _results(Codec(Catalogue())):
        s = result.stamps
        assert s is not None and s.complete
        assert s.request_append_ms > 0 and s.reply_append_ms > 0
        assert s.intended_us <= s.sent_us <= s.received_us
        assert s.registry_received_us <= s.registry_answered_us
        hops = split(s)
        assert hops is not None
        assert abs(hops.total_us - result.latency_s * 1e6) <= 1_000


async def test_a_v1_registry_still_answers_and_its_transactions_count_as_unstamped() -> None:
    old = Codec(Catalogue(), writer_versions={ANSWERED_V3: 1})
    ledger = HopLedger()
    for _, result in await _results(old, 10):
        assert result.outcome == "MATCH"
        ledger.record(AGENCY, "verify", "p", requests(1)[0], result)
    assert (ledger.stamped, ledger.unstamped) == (0, 10)


async def test_a_requester_that_reads_only_v1_answers_works_with_a_v3_registry() -> None:
    v1_reader = Codec(Catalogue(), reader_versions={ANSWERED_V3: 1})
    for _, result in await _results(Codec(Catalogue()), 10, reader=v1_reader):
        assert result.outcome == "MATCH"
        assert result.stamps is not None and not result.stamps.complete  # it cannot see them


async def test_ledgers_merged_from_two_processes_equal_one_ledger_of_everything() -> None:
    results = await _results(Codec(Catalogue()), 40)
    whole, first, second = HopLedger(), HopLedger(), HopLedger()
    req = requests(1)[0]
    for i, (_, result) in enumerate(results):
        whole.record(AGENCY, "verify", "p", req, result)
        (first if i % 2 else second).record(AGENCY, "verify", "p", req, result)
    shipped = HopLedger.decode(second.encode())
    first.merge(shipped)
    assert first.report() == whole.report()
    report = whole.report()
    assert report.slowest == f"{AGENCY} × verify"
    assert list(report.flows["verify"]) == list(HOPS)
    assert report.heatmap is not None and report.heatmap.agencies == [AGENCY]


async def test_the_parquet_record_has_a_row_per_transaction_and_no_citizen_id(
    tmp_path: Path,
) -> None:
    results = await _results(Codec(Catalogue()), 25)
    record = OpRecord(tmp_path / "transactions.parquet", b"k" * 32, batch=10)
    reqs = requests(25)
    for req, (_, result) in zip(reqs, results, strict=True):
        record.add(AGENCY, "verify", "p", req, result)
    table = pq.read_table(record.close())
    assert table.num_rows == 25
    rows = table.to_pylist()
    for row in rows:
        hops = row["generator_us"] + row["request_us"] + row["registry_us"] + row["reply_us"]
        assert abs(hops - row["latency_us"]) <= 1_000
    raw = (tmp_path / "transactions.parquet").read_bytes()
    assert not any(r.citizen_id.encode() in raw for r in reqs)
    assert {row["citizen_ref"] for row in rows} and all(len(r["citizen_ref"]) == 24 for r in rows)
