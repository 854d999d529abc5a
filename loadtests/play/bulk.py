"""Bulk reconciliations played beside the interactive traffic: the platforms hand their sellers
to the tax authority on time, and every seller the authority reconciles is judged against the
truth the world gives it (answered once, right, by the job's deadline)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from loadtests.report import BulkJobReport, Latency, WrongItem
from loadtests.scenario import BulkJob, Scenario
from services.kafka import Consumer, Producer, Transport
from services.process import EVENT_LOOP, Clock, cancel
from services.security import DRIVER
from services.wire import (
    RECONCILED,
    SELLERS,
    Codec,
    CodecError,
    SellerShared,
    SellersReconciled,
    SellersShared,
)
from services.world import ENTERPRISE, INDIVIDUAL, Population, Sellers, Topology

__all__ = ["BULK_HOPS", "BulkRunner", "hops_of", "split_by_weight"]

log = logging.getLogger("ndx.bulk")
WRONG_KEPT = 10  # wrong answers kept as examples per job
# Where a share's time goes, from the platform's send to the tax authority's result: through
# Kafka to the reconciler, waiting for its pace and in-flight limit, the last chunk's way to the
# registry, its work there, the answer's way back, and publishing the result.
BULK_HOPS = ("sharing", "pacing", "request", "registry", "reply", "publish")
RECORD_FREE = ("NOT_FOUND", "REJECTED")  # answers that do not depend on the record's version


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, 86_400_000_000, 3)  # microseconds, up to a day


def _latency(h: HdrHistogram, unit: float = 1.0) -> Latency | None:
    if not h.get_total_count():
        return None
    return Latency(
        p50=round(h.get_value_at_percentile(50) / unit, 3),
        p95=round(h.get_value_at_percentile(95) / unit, 3),
        p99=round(h.get_value_at_percentile(99) / unit, 3),
        max=round(h.get_max_value() / unit, 3),
    )


def hops_of(found: SellersReconciled) -> dict[str, int] | None:
    """A share's time split into BULK_HOPS (microseconds, adding up to its whole time), or None
    from a writer that did not say."""
    marks = (
        found.shared_at_us,
        found.taken_at_us,
        found.sent_at_us,
        found.registry_received_us,
        found.registry_answered_us,
        found.answered_at_us,
        found.reconciled_at_us,
    )
    if not all(marks):
        return None
    return {hop: max(0, b - a) for hop, a, b in zip(BULK_HOPS, marks[:-1], marks[1:], strict=True)}


def split_by_weight(total: int, weights: dict[str, float]) -> dict[str, int]:
    """`total` split in proportion to the weights, largest remainders first: sums to total."""
    exact = {k: total * w for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    rest = total - sum(counts.values())
    for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[:rest]:
        counts[k] += 1
    return counts


@dataclass
class _Job:
    """What one job has shared and what came back of it."""

    spec: BulkJob
    period: str
    truth: dict[str, tuple[str, str]] = field(default_factory=dict)  # ref -> (kind, expected)
    shares: int = 0
    submitted: float | None = None
    last: float | None = None
    answered: set[str] = field(default_factory=set)
    correct: int = 0
    duplicates: int = 0
    strays: int = 0
    chunks: int = 0
    resent: int = 0
    half_answered: int = 0
    duplicate_answers: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    taxable: Counter[str] = field(default_factory=Counter)
    wrong: list[WrongItem] = field(default_factory=list)
    share_ms: HdrHistogram = field(default_factory=lambda: _histogram())
    hops: dict[str, HdrHistogram] = field(
        default_factory=lambda: {hop: _histogram() for hop in BULK_HOPS}
    )
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def complete(self) -> bool:
        return self.shares > 0 and len(self.answered) >= len(self.truth)


class BulkRunner:
    """Plays a scenario's bulk jobs from the driver: each platform shares as itself (its own
    identity and signing key), and the driver reads what the tax authority published."""

    def __init__(
        self,
        scenario: Scenario,
        topology: Topology,
        seed: int,
        run_id: str,
        transports: Callable[[str], Transport],
        codec: Codec,
        population: Population,
        clock: Clock = EVENT_LOOP,
    ) -> None:
        self.scenario, self.topology, self.run_id, self.codec = scenario, topology, run_id, codec
        self.clock, self.seed = clock, seed
        self.population = population
        self.weights = topology.platform_weights()
        first = scenario.periods[0].name
        self.jobs = {j.name: _Job(j, j.period or first) for j in scenario.bulk}
        self.producers: dict[str, Producer] = (
            {p: transports(p).producer(p) for p in self.weights} if scenario.bulk else {}
        )
        self.reader: Consumer | None = None
        if scenario.bulk:
            self.reader = transports(DRIVER).consumer([RECONCILED.name], f"{DRIVER}.reconciled")
        self._tasks: list[asyncio.Task[None]] = []
        self._reading: asyncio.Task[None] | None = None
        self.t0 = 0.0

    async def start(self) -> None:
        """The reader first (at the log's end), so nothing reconciled in this run is missed."""
        if self.reader is None:
            return
        if not self.weights:
            raise ValueError(
                f"scenario {self.scenario.name}: bulk jobs need platforms in the topology"
            )
        await self.reader.start()
        for producer in self.producers.values():
            await producer.start()
        self.t0 = self.clock.now()
        self._reading = asyncio.create_task(self._read(), name="bulk-reconciled")

    async def stop(self) -> None:
        await cancel([*self._tasks, self._reading])
        for producer in self.producers.values():
            with contextlib.suppress(Exception):
                await producer.stop()
        if self.reader is not None:
            await self.reader.stop()

    def period_started(self, period: str) -> None:
        for job in self.jobs.values():
            if job.period == period:
                self._tasks.append(asyncio.create_task(self._submit(job), name=job.spec.name))

    async def finish(self) -> None:
        """Every job submitted and answered in full, or its deadline (and a grace) passed."""
        if self._tasks:
            await asyncio.gather(*self._tasks)
        for job in self.jobs.values():
            if job.submitted is None:
                continue
            left = job.submitted + job.spec.deadline_s - self.clock.now()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.done.wait(), max(left, 0.0) + 1.0)

    async def _submit(self, job: _Job) -> None:
        spec = job.spec
        await self.clock.sleep(spec.at_s)
        sellers = Sellers(self.population, self.seed, spec.faults.model_dump())
        enterprises = split_by_weight(spec.enterprises, self.weights)
        individuals = split_by_weight(spec.individuals, self.weights)
        job.submitted = self.clock.now()
        per_s = spec.share_rate_per_s
        sent = 0
        batches = []
        for platform in self.weights:
            count = enterprises[platform] + individuals[platform]
            for start in range(0, count, spec.share_size):
                batches.append((platform, start, min(count, start + spec.share_size)))
        # the platforms' batches interleave, as platforms sharing at once would
        batches.sort(key=lambda b: (b[1], b[0]))
        for platform, start, end in batches:
            shared: list[SellerShared] = []
            for index in range(start, end):
                kind = ENTERPRISE if index < enterprises[platform] else INDIVIDUAL
                s = sellers.seller(spec.name, platform, index, kind)
                job.truth[s.seller_ref] = (kind, s.expected)
                shared.append(
                    SellerShared(
                        s.seller_ref, kind, s.citizen_id, s.full_name, s.birth_date, s.tax_code
                    )
                )
            share = SellersShared(
                f"{self.run_id}:{spec.name}:{platform}:{start:x}",
                platform,
                self._job_id(spec),
                shared,
                time.time_ns() // 1000,
            )
            await self.producers[platform].send(
                SELLERS.name, self.codec.encode(share), key=share.share_id.encode()
            )
            job.shares += 1
            sent += len(shared)
            if per_s is not None:
                due = job.submitted + sent / per_s
                if (wait := due - self.clock.now()) > 0:
                    await self.clock.sleep(wait)
            else:
                await asyncio.sleep(0)
        for producer in self.producers.values():
            await producer.flush()
        if job.complete:
            job.done.set()

    def _job_id(self, spec: BulkJob) -> str:
        return f"{self.run_id}:{spec.name}"

    async def _read(self) -> None:
        assert self.reader is not None
        by_id = {self._job_id(j.spec): j for j in self.jobs.values()}
        while True:
            for rec in await self.reader.getmany(timeout_ms=500, max_records=500):
                try:
                    found = self.codec.decode(rec.value or b"")
                except CodecError as exc:
                    log.warning("unreadable reconciliation record: %s", exc.reason)
                    continue
                if isinstance(found, SellersReconciled) and (job := by_id.get(found.job)):
                    try:
                        self._judge(job, found)
                    except Exception:  # one odd record must not end the judging of the rest
                        log.exception("could not judge reconciliation %s", found.share_id[:64])

    def _judge(self, job: _Job, found: SellersReconciled) -> None:
        now = self.clock.now()
        job.last = now
        job.chunks += found.chunks
        job.resent += found.resent_chunks
        job.half_answered += found.half_answered_chunks
        job.duplicate_answers += found.duplicate_answers
        job.share_ms.record_value(min(max(1, found.reconciled_at_us - found.shared_at_us), 8.64e10))
        for hop, us in (hops_of(found) or {}).items():
            job.hops[hop].record_value(min(max(1, us), 8.64e10))
        for seller in found.sellers:
            truth = job.truth.get(seller.seller_ref)
            if truth is None:
                job.strays += 1
                continue
            if seller.seller_ref in job.answered:
                job.duplicates += 1
                continue
            job.answered.add(seller.seller_ref)
            kind, expected = truth
            if seller.citizen_version > 0 and expected not in RECORD_FREE:
                expected = "DECEASED"  # a death reached the registry first: the truth then
            job.outcomes[seller.outcome] += 1
            if seller.outcome == expected and seller.kind == kind:
                job.correct += 1
                if seller.outcome == "MATCH":
                    job.taxable[kind] += 1
            elif len(job.wrong) < WRONG_KEPT:
                job.wrong.append(
                    WrongItem(
                        seller_ref=seller.seller_ref,
                        expected=expected,
                        got=f"{seller.kind} {seller.outcome}",
                    )
                )
        if job.complete:
            job.done.set()

    def answered(self) -> int:
        """Sellers answered so far, over every job."""
        return sum(len(job.answered) for job in self.jobs.values())

    def reports(self) -> list[BulkJobReport]:
        return [self._report(job) for job in self.jobs.values()]

    def _report(self, job: _Job) -> BulkJobReport:
        spec = job.spec
        answered = len(job.answered)
        submitted = job.submitted
        completed = None
        if job.complete and submitted is not None and job.last is not None:
            completed = job.last - submitted
        latency = _latency(job.share_ms, 1000)
        hops = {hop: lat for hop, h in job.hops.items() if (lat := _latency(h, 1000)) is not None}
        return BulkJobReport(
            name=spec.name,
            period=job.period,
            items=len(job.truth) if job.truth else spec.items,
            individuals=spec.individuals,
            enterprises=spec.enterprises,
            shares=job.shares,
            answered=answered,
            correct=job.correct,
            incorrect=answered - job.correct,
            lost=(len(job.truth) if job.truth else spec.items) - answered,
            duplicates=job.duplicates,
            strays=job.strays,
            resent_chunks=job.resent,
            half_answered_chunks=job.half_answered,
            duplicate_answers=job.duplicate_answers,
            chunks=job.chunks,
            submitted_at_s=round((submitted or self.t0) - self.t0, 3),
            completed_s=None if completed is None else round(completed, 3),
            deadline_s=spec.deadline_s,
            met_deadline=completed is not None and completed <= spec.deadline_s,
            items_per_s=None if not completed else round(answered / completed, 1),
            outcomes=dict(sorted(job.outcomes.items())),
            taxable=dict(sorted(job.taxable.items())),
            wrong=list(job.wrong),
            share_latency_ms=latency,
            hops_ms=hops,
        )
