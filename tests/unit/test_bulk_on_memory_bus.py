"""Bulk sharing on the in-memory twin: the same registry, reconciler and driver code as on
Kafka; every seller answered once and right, hostile shares and chunks dead-lettered."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from prometheus_client import REGISTRY

from loadtests.play import BulkRunner, split_by_weight
from loadtests.scenario.model import Scenario
from loadtests.scenario.parts import BulkJob, Period, SellerFaults
from services.config import Bulk
from services.kafka.twin import MemoryBus, MemRecord
from services.registry.__main__ import registry_app, run_registry
from services.security.signing import Verifier, key_of, new_run_secret, signature
from services.tax import admit_share
from services.tax.__main__ import tax_app
from services.wire import (
    BULK,
    BULK_ITEMS,
    DLQ,
    RECONCILED,
    SELLERS,
    VERIFY,
    BulkItem,
    BulkVerificationRequested,
    SellerReconciled,
    SellerShared,
    SellersReconciled,
    SellersShared,
    bulk_reply_topic,
)
from services.wire.codec import Catalogue, Codec
from services.wire.topics import topics_for
from services.world import Population
from tests.support.inproc import AUDIT_KEY, DEMO_TOPOLOGY, SEED, demo_topology
from tests.support.poison import header_map
from tests.support.waiting import wait_for_async

CODEC = Codec(Catalogue())
FAULTS = SellerFaults(
    wrong_name=0.04, wrong_birth_date=0.02, unknown_id=0.02, invalid_id=0.01, deceased=0.01
)


def scenario(individuals: int, enterprises: int, share_size: int = 300) -> Scenario:
    job = BulkJob(
        name="sellers",
        individuals=individuals,
        enterprises=enterprises,
        share_size=share_size,
        deadline_s=60,
        faults=FAULTS,
    )
    period = Period(name="p", duration_s=1, rate_per_s=1, max_requests=1)
    return Scenario(name="unit", topology=str(DEMO_TOPOLOGY), periods=[period], bulk=[job])


@contextlib.asynccontextmanager
async def platform(bus: MemoryBus, design: Bulk) -> AsyncIterator[None]:
    """A registry on the interactive lane (and one on the bulk lane when the design has it) and
    the tax authority's reconciler, all answering until the block ends."""
    topology = demo_topology()
    await bus.ensure_topics(topics_for(topology.agencies(), bulk_by=topology.reconcilers()))
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        lanes = ["interactive", "bulk"] if design.lane == "separate" else ["interactive"]
        tasks = []
        for lane in lanes:
            app = registry_app(bus, topology, SEED, AUDIT_KEY, f"registry-{lane}", CODEC, lane=lane)
            loop, follower = await stack.enter_async_context(app)
            tasks.append(asyncio.create_task(run_registry(loop, follower, stop)))
        tax = await stack.enter_async_context(tax_app(bus, topology, CODEC, design))
        tasks.append(asyncio.create_task(tax.run(stop)))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)


def counted(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def play(bus: MemoryBus, sc: Scenario) -> BulkRunner:
    runner = BulkRunner(
        sc, demo_topology(), SEED, "unit", lambda _who: bus, CODEC, Population(SEED)
    )
    await runner.start()
    runner.period_started("p")
    await runner.finish()
    await runner.stop()
    return runner


async def test_every_seller_of_a_bulk_job_is_answered_once_and_right_on_the_shared_lane() -> None:
    bus = MemoryBus()
    taxable_before = counted(
        "ndx_tax_sellers_reconciled_total", {"kind": "INDIVIDUAL", "result": "taxable"}
    )
    items_before = counted(
        "ndx_bulk_items_total", {"observer": "provider", "lane": "shared", "outcome": "MATCH"}
    )
    async with platform(bus, Bulk(lane="shared", chunk=128, in_flight=3)):
        runner = await play(bus, scenario(1600, 400))
    [job] = runner.reports()
    assert (job.items, job.answered, job.correct, job.lost) == (2000, 2000, 2000, 0), job.wrong
    assert (job.duplicates, job.strays, job.incorrect) == (0, 0, 0)
    assert job.met_deadline and job.completed_s is not None
    assert set(job.outcomes) == {"MATCH", "MISMATCH", "NOT_FOUND", "DECEASED", "REJECTED"}
    assert sum(job.taxable.values()) == job.outcomes["MATCH"]
    assert job.chunks >= 2000 // 128  # each share split into chunks of at most 128
    # the tax authority's and the registry's own counters agree with the driver's count
    taxable = counted(
        "ndx_tax_sellers_reconciled_total", {"kind": "INDIVIDUAL", "result": "taxable"}
    )
    assert taxable - taxable_before == job.taxable["INDIVIDUAL"]
    answered = counted(
        "ndx_bulk_items_total", {"observer": "provider", "lane": "shared", "outcome": "MATCH"}
    )
    assert answered - items_before == job.outcomes["MATCH"]
    # bulk requests travelled on the interactive topic; the bulk lane's stayed empty
    assert sum(len(p) for p in bus.topics[BULK.name]) == 0
    assert sum(len(p) for p in bus.topics[VERIFY.name]) >= job.chunks


async def test_a_separate_lane_answers_bulk_on_its_own_topic_and_registry() -> None:
    bus = MemoryBus()
    before = counted(
        "ndx_bulk_items_total", {"observer": "provider", "lane": "separate", "outcome": "MATCH"}
    )
    async with platform(bus, Bulk(lane="separate", chunk=200)):
        runner = await play(bus, scenario(700, 300))
    [job] = runner.reports()
    assert (job.answered, job.correct, job.lost) == (1000, 1000, 0)
    assert sum(len(p) for p in bus.topics[VERIFY.name]) == 0  # nothing on the counters' topic
    assert sum(len(p) for p in bus.topics[BULK.name]) == job.chunks
    after = counted(
        "ndx_bulk_items_total", {"observer": "provider", "lane": "separate", "outcome": "MATCH"}
    )
    assert after - before == job.outcomes["MATCH"]


async def test_a_paced_requester_holds_itself_to_its_rate() -> None:
    bus = MemoryBus()
    async with platform(bus, Bulk(chunk=50, rate_per_s=1000, in_flight=4)):
        started = time.monotonic()
        runner = await play(bus, scenario(600, 0, share_size=100))
        took = time.monotonic() - started
    [job] = runner.reports()
    assert (job.answered, job.lost) == (600, 0)
    assert took >= 0.5  # 600 items at 1,000/s, one chunk's burst allowed


def dead_letters(bus: MemoryBus) -> list[dict[str, str]]:
    return [header_map(r.headers) for part in bus.topics[DLQ.name] for r in part]


async def wait_for_dead_letters(bus: MemoryBus, count: int) -> list[dict[str, str]]:
    await wait_for_async(lambda: len(dead_letters(bus)) >= count, 10, f"{count} dead letters")
    return dead_letters(bus)


def seller(ref: str) -> SellerShared:
    return SellerShared(ref, "INDIVIDUAL", "001090012345", "Lê Văn Tâm", "1990-02-03")


async def test_hostile_shares_and_chunks_are_dead_lettered_with_their_reason() -> None:
    bus = MemoryBus()
    async with platform(bus, Bulk(chunk=100)):
        producer = bus.producer("hostile")
        await producer.start()
        shares = [
            SellersShared("x-1", "platform.unknown", "job", [seller("a")], 1),
            SellersShared("x-2", "platform.shopee", "job", [seller("a"), seller("a")], 1),
            SellersShared("x-3", "platform.shopee", "job", [], 1),
        ]
        for share in shares:
            await producer.send(SELLERS.name, CODEC.encode(share), key=share.share_id.encode())
        too_many = [BulkItem(f"i{n}", "001090012345", "A", "1990-01-01") for n in range(2001)]
        chunks = [
            BulkVerificationRequested(
                "big", "ministry.tax", "seller-tax-reconciliation", too_many, 1
            ),
            BulkVerificationRequested(
                "dup", "ministry.tax", "seller-tax-reconciliation", too_many[:2] * 2, 1
            ),
            BulkVerificationRequested(
                "who", "nobody", "seller-tax-reconciliation", too_many[:1], 1
            ),
        ]
        for chunk in chunks:
            await producer.send(VERIFY.name, CODEC.encode(chunk), key=chunk.request_id.encode())
        found = await wait_for_dead_letters(bus, 6)
        # the counters are still answered: a good share goes through after the hostile ones
        good = SellersShared("ok", "platform.tiki", "job", [seller("b")], 1)
        await producer.send(SELLERS.name, CODEC.encode(good), key=b"ok")
        await wait_for_async(
            lambda: any(bus.topics["ndx.tax.reconciled"][p] for p in range(3)), 10, "a result"
        )
        await producer.stop()
    reasons = sorted(d["reason"] for d in found)
    assert reasons == sorted(
        [
            "unknown_platform",
            "duplicate_sellers",
            "no_sellers",
            "oversized_field",
            "duplicate_items",
            "unknown_requester",
        ]
    ), found
    oversized = next(d for d in found if d["reason"] == "oversized_field")
    assert oversized["source_topic"] == VERIFY.name
    assert sum(len(p) for p in bus.topics["ndx.tax.reconciled"]) == 1
    assert sum(len(p) for p in bus.topics[bulk_reply_topic("ministry.tax")]) == 1  # only "ok"
    assert BULK_ITEMS == 2000


def test_sellers_split_by_platform_weight_sum_to_the_job() -> None:
    weights = demo_topology().platform_weights()
    for total in (0, 1, 7, 999, 156_342):
        split = split_by_weight(total, weights)
        assert sum(split.values()) == total
        assert all(abs(n - total * weights[p]) <= 1 for p, n in split.items())


def signed_share(signer: str, named: str, secret: str) -> MemRecord:
    share = SellersShared("s", named, "job", [seller("a")], 1)
    value = CODEC.encode(share)
    headers = signature(signer, key_of(secret, signer), SELLERS.name, b"s", value)
    return MemRecord(SELLERS.name, 0, 0, b"s", value, headers)


def test_the_tax_authority_reconciles_only_shares_signed_by_the_platform_they_name() -> None:
    secret = new_run_secret()
    verifier = Verifier(secret)

    def admitted(rec: MemRecord) -> str | None:
        refusal = admit_share(verifier, rec, CODEC.decode(rec.value or b""))
        return None if refusal is None else refusal.reason

    assert admitted(signed_share("platform.shopee", "platform.shopee", secret)) is None
    assert admitted(signed_share("platform.lazada", "platform.shopee", secret)) == "forged_platform"
    assert admitted(signed_share("ministry.tax", "platform.shopee", secret)) == "forged_platform"
    forged = signed_share("platform.shopee", "platform.shopee", new_run_secret())
    assert admitted(forged) == "unsigned_or_forged"
    bare = signed_share("platform.shopee", "platform.shopee", secret)
    assert admitted(MemRecord(bare.topic, 0, 0, bare.key, bare.value)) == "unsigned_or_forged"


async def test_a_seller_answered_twice_wrongly_or_never_shared_is_counted_never_silent() -> None:
    bus = MemoryBus()
    async with platform(bus, Bulk(chunk=100)):
        runner = BulkRunner(
            scenario(300, 0),
            demo_topology(),
            SEED,
            "unit",
            lambda _who: bus,
            CODEC,
            Population(SEED),
        )
        await runner.start()
        runner.period_started("p")
        await runner.finish()
        [job] = runner.reports()
        assert (job.answered, job.correct, job.duplicates, job.strays) == (300, 300, 0, 0)
        ref, (kind, expected) = next(iter(runner.jobs["sellers"].truth.items()))
        wrong = "MISMATCH" if expected != "MISMATCH" else "MATCH"
        forged = SellersReconciled(
            "again",
            "platform.shopee",
            "unit:sellers",
            [
                SellerReconciled(ref, kind, wrong, 0),  # answered before: a duplicate
                SellerReconciled("sellers:shopee:ffff", kind, "MATCH", 0),  # never shared
            ],
            1,
            2,
        )
        producer = bus.producer("replay")
        await producer.start()
        await producer.send(RECONCILED.name, CODEC.encode(forged), key=b"again")
        await producer.stop()
        await wait_for_async(lambda: runner.reports()[0].strays == 1, 10, "the stray counted")
        await runner.stop()
    [job] = runner.reports()
    assert (job.answered, job.correct, job.lost) == (300, 300, 0)
    assert (job.duplicates, job.strays) == (1, 1)


async def test_sellers_nobody_reconciles_are_lost_and_the_deadline_missed() -> None:
    bus = MemoryBus()
    topology = demo_topology()
    await bus.ensure_topics(topics_for(topology.agencies(), bulk_by=topology.reconcilers()))
    sc = scenario(50, 10).model_copy(
        update={"bulk": [scenario(50, 10).bulk[0].model_copy(update={"deadline_s": 0.5})]}
    )
    runner = BulkRunner(sc, topology, SEED, "unit", lambda _who: bus, CODEC, Population(SEED))
    await runner.start()
    runner.period_started("p")
    await runner.finish()  # no reconciler runs: the deadline passes
    await runner.stop()
    [job] = runner.reports()
    assert (job.items, job.answered, job.lost) == (60, 0, 60)
    assert not job.met_deadline and job.completed_s is None
