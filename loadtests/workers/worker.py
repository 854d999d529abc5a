"""`ndxsim worker`: joins an announced run through the cluster, plays the shares Kafka's group
protocol hands it, and reports what it measured on the results topic.

Joining waits for the cluster's topics, then claims the shares; at the end the worker writes its
part of the transaction record and the Done message that names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections import Counter
from pathlib import Path

from loadtests.measure import RECORD_PART, OpRecord, OwnCpu, PhaseLedger, timeline_wire
from loadtests.play import Driver
from loadtests.scenario import Period
from loadtests.stack import WORK_RESULTS
from loadtests.workers.mirror import read_counters
from loadtests.workers.planfeed import PlanFeed
from loadtests.workers.sharebus import ShareHolder
from loadtests.workers.workplan import (
    Command,
    Done,
    Hello,
    PeriodDone,
    Progress,
    ReplicaCount,
    WorkPlan,
    insist,
    worker_client,
)
from services.config import RunConfigError
from services.kafka import BrokerUnreachable, Producer, TransportError
from services.kafka.bus import ClientTuning
from services.kafka.choice import ClusterTransport, transport_for
from services.security import DRIVER, Credentials
from services.wire import Catalogue, Codec
from services.world import Population

__all__ = [
    "CLAIM_TRIES",
    "CLAIM_WAIT_S",
    "Worker",
    "claim",
    "close_record",
    "done_message",
    "hello",
    "open_feed",
    "open_record",
    "say",
]

log = logging.getLogger("ndx.worker")


CLAIM_TRIES = 20
HELLO_EVERY_S = 1.0  # a worker waiting for the claim says what it holds this often...
HELD_WATCH_S = 0.2  # ...and at once (within this) when its group hands it other shares


CLAIM_WAIT_S = 300.0  # a plan whose coordinator never says claim (it crashed) is left


async def open_feed(
    base: ClusterTransport, worker: str, run_id: str | None, wait_s: float
) -> PlanFeed:
    """The plans feed, started; a worker may start before the first run made the cluster's
    topics, so a missing topic is waited for up to `wait_s`, an unreachable broker is not."""
    deadline = time.monotonic() + wait_s
    while True:
        feed = PlanFeed(base, f"ndxsim.worker.{worker}.plans", run_id)
        try:
            await feed.start()
            return feed
        except TransportError as exc:
            if time.monotonic() > deadline or isinstance(exc, BrokerUnreachable):
                raise
            log.info("waiting for the cluster's topics: %s", exc)
            await asyncio.sleep(2.0)


async def say(out: Producer, message: Hello | Progress | PeriodDone | Done) -> None:
    data = message.model_dump_json().encode()
    await insist(lambda: out.send(WORK_RESULTS.name, data, key=message.run_id.encode()))


def hello(plan: WorkPlan, worker: str, shares: set[int], ready: bool = False) -> Hello:
    return Hello(
        run_id=plan.run_id,
        worker=worker,
        host=socket.gethostname(),
        pid=os.getpid(),
        shares=sorted(shares),
        ready=ready,
    )


async def claim(
    plan: WorkPlan, feed: PlanFeed, holder: ShareHolder, out: Producer, worker: str
) -> set[int] | None:
    """Say which shares it holds until the coordinator says claim; then commit them. None
    when the run started or ended without it (it joined too late) or never went ahead."""
    deadline = time.monotonic() + CLAIM_WAIT_S
    said: set[int] | None = None
    said_at = 0.0
    while time.monotonic() < deadline:
        held = set(holder.held)
        if held != said or time.monotonic() - said_at >= HELLO_EVERY_S:
            await say(out, hello(plan, worker, held))  # at once when what it holds changed
            said, said_at = held, time.monotonic()
        with contextlib.suppress(TimeoutError):
            command = await asyncio.wait_for(feed.commands.get(), HELD_WATCH_S)
            if command.kind == "claim":
                break
            if command.kind in ("start", "end"):
                return None
    else:
        return None
    for _ in range(CLAIM_TRIES):
        claimed = await holder.claim()
        if claimed is not None:
            return claimed
        await asyncio.sleep(0.5)
    return set()


def open_record(
    plan: WorkPlan, worker: str, record_key: bytes | None, runs_dir: Path
) -> OpRecord | None:
    """Its share of the run's transaction record when it holds the run's audit key: beside
    the coordinator's when it reaches the run's folder (a local worker), else in its own
    runs folder, named in the report with its host."""
    if record_key is None:
        return None
    here = Path(plan.record_dir) if plan.record_dir else None
    if here is None or not here.is_dir():
        here = runs_dir.resolve() / plan.run_id
        here.mkdir(parents=True, exist_ok=True)
    try:
        plan.config.check_key(record_key)
    except RunConfigError as exc:
        log.warning("no transaction record: %s", exc)
        return None
    return OpRecord(here / f"{RECORD_PART}{worker}.parquet", record_key)


async def close_record(driver: Driver, plan: WorkPlan) -> str:
    """Closes its record part; its path when it is not beside the coordinator's, else ""."""
    record = driver.hops.transactions
    if record is None:
        return ""
    await asyncio.to_thread(record.close)
    return "" if str(record.path.parent) == plan.record_dir else str(record.path)


def done_message(
    plan: WorkPlan,
    worker: str,
    driver: Driver,
    record_part: str,
    cpu_seconds: float,
    wall_s: float,
    peak_cores: float,
) -> Done:
    return Done(
        record_part=record_part,
        run_id=plan.run_id,
        worker=worker,
        timeline=timeline_wire(driver.timeline),
        wall0=driver.stage.wall0,
        cpu_seconds=cpu_seconds,
        wall_s=wall_s,
        peak_cores=peak_cores,
        replicas=[
            ReplicaCount(ministry=m, held=len(r), hits=r.hits, misses=r.misses)
            for m, r in sorted(driver.replicas.items())
        ],
        counters=read_counters(),
        hops=driver.hops.encode(),
    )


PLAN_WAIT_S = 120.0


class Worker:
    def __init__(
        self,
        bootstrap: str,
        credentials: Credentials | None,
        name: str,
        connect_timeout: float,
        record_key: bytes | None = None,
        runs_dir: Path = Path("runs"),
    ) -> None:
        self.bootstrap, self.credentials, self.name = bootstrap, credentials, name
        self.record_key = record_key  # the audit key, when transactions are recorded
        self.runs_dir = runs_dir  # its own part goes here when the run's folder is elsewhere
        self.connect_timeout = connect_timeout
        self.cpu = OwnCpu()
        self.peak = 0.0
        self.driver: Driver | None = None
        self.period = -1
        self.measured_from: tuple[float, float] | None = None  # CPU and wall after the warm-up
        self.late_seen: dict[str, int] = {}  # each agency's late answers at the last period end

    def transport(self, principal: str, tuning: ClientTuning) -> ClusterTransport:
        security = None if self.credentials is None else self.credentials.security_for(principal)
        return transport_for(self.bootstrap, tuning, security)

    async def run(self, run_id: str | None) -> int:
        """0 when it played its share to the end, 1 when no run could be joined."""
        base = self.transport(DRIVER, ClientTuning(connect_timeout=self.connect_timeout))
        feed = await open_feed(base, self.name, run_id, PLAN_WAIT_S)
        try:
            plan = await feed.plan(PLAN_WAIT_S)
            if plan is None:
                log.error("no run announced on the cluster within %.0fs", PLAN_WAIT_S)
                return 1
            await self._join(plan, feed)
            return 0
        finally:
            await feed.stop()

    async def _join(self, plan: WorkPlan, feed: PlanFeed) -> None:
        tuning = ClientTuning.of(plan.config.design, self.connect_timeout, "agencies")
        control = self.transport(DRIVER, tuning)
        out = control.producer(worker_client(self.name))
        await out.start()
        holder = ShareHolder(
            self.bootstrap,
            tuning,
            control.security,
            plan.run_id,
            worker_client(self.name),
            len(plan.shares),
        )
        await holder.start()
        beat: asyncio.Task[None] | None = None
        try:
            claimed = await claim(plan, feed, holder, out, self.name)
            if claimed is None:
                log.warning("run %s went ahead without this worker; leaving", plan.run_id)
                return
            beat = asyncio.create_task(self._beat(plan.run_id, holder, out))
            await self._play(plan, feed, claimed, tuning, out)
        finally:
            if beat is not None:
                beat.cancel()
            await holder.stop()
            await out.stop()

    async def _play(
        self,
        plan: WorkPlan,
        feed: PlanFeed,
        claimed: set[int],
        tuning: ClientTuning,
        out: Producer,
    ) -> None:
        mine = {a for s in plan.shares if s.index in claimed for a in s.agencies}
        codec = Codec(Catalogue(), writer_versions=plan.config.schema_pins)
        driver = self.driver = Driver(
            plan.scenario,
            plan.agencies,
            lambda who: self.transport(who, tuning),
            codec,
            Population(plan.config.seed),
            plan.config,
            mine,
            (frozenset(claimed), len(plan.shares)),
        )
        driver.hops.transactions = open_record(plan, self.name, self.record_key, self.runs_dir)
        await driver.start()
        log.info("worker %s plays shares %s: %s", self.name, sorted(claimed), sorted(mine))
        self.measured_from = None
        periods = dict(driver.scheduler.periods())
        playing: asyncio.Task[None] | None = None
        try:
            await say(out, hello(plan, self.name, claimed, ready=True))
            while (command := await feed.commands.get()).kind != "end":
                if command.kind == "start":
                    playing = asyncio.create_task(self._period(plan, command, periods, out))
                elif command.kind in ("pause", "resume") and command.agency in driver.clients:
                    pause = command.kind == "pause"
                    (driver.pause_agency if pause else driver.resume_agency)(command.agency)
            if playing is not None:
                await playing
            part = await close_record(driver, plan)
            cpu0, wall0 = self.measured_from or self._cpu_now()
            cpu = self.cpu.seconds() - cpu0
            done = done_message(
                plan, self.name, driver, part, cpu, time.monotonic() - wall0, self.peak
            )
            await say(out, done)
        finally:
            await driver.stop()

    async def _period(
        self, plan: WorkPlan, command: Command, periods: dict[int, Period], out: Producer
    ) -> None:
        assert self.driver is not None
        heard_ahead = command.at - time.time()
        period = periods[command.period]
        self.driver.current = None
        loop = asyncio.get_running_loop()
        start = loop.time() + heard_ahead
        self.driver.start_clock(start, command.at)
        self.period = command.period
        log.info("worker %s plays period %d (%s)", self.name, command.period, period.name)
        if command.period > 0 and self.measured_from is None:  # its CPU counts from here
            self.measured_from = self._cpu_now()
        ledger = await self.driver.play_period(command.period, period, start)
        t0 = self.driver.stage.t0
        wire = dataclasses.replace(ledger, started=ledger.started - t0, ended=ledger.ended - t0)
        await self._queue_part(wire, command.period, period.name)
        await say(
            out,
            PeriodDone(
                run_id=plan.run_id,
                worker=self.name,
                period=command.period,
                ledger=wire,
                heard_ahead_s=heard_ahead,
            ),
        )

    def _cpu_now(self) -> tuple[float, float]:
        return self.cpu.seconds(), time.monotonic()

    async def _queue_part(self, wire: PhaseLedger, index: int, name: str) -> None:
        """The period's queue sample (not the warm-up's: it is never compared) and its late
        answers by requester, added to the period's ledger as it is sent."""
        assert self.driver is not None
        sample = self.driver.hops.queue.take(name)
        late = {agency: c.late_answers for agency, c in self.driver.clients.items()}
        grown = {a: n - self.late_seen.get(a, 0) for a, n in late.items()}
        wire.late_by_requester = Counter({a: n for a, n in sorted(grown.items()) if n > 0})
        self.late_seen = late
        if index > 0 and (len(sample) or sample.offered):
            wire.queue = await asyncio.to_thread(sample.encode)

    async def _beat(self, run_id: str, holder: ShareHolder, out: Producer) -> None:
        """Progress every second: what the coordinator shows live, and proof of life."""
        self.cpu.cores()  # its first second counts from here
        while True:
            await asyncio.sleep(1.0)
            cores = self.cpu.cores()
            if self.measured_from is not None:  # the warm-up's busiest second is not a figure
                self.peak = max(self.peak, cores)
            now = self.driver.current if self.driver is not None else None
            c = now or PhaseLedger("", 0.0)
            beat = Progress(
                run_id=run_id,
                worker=self.name,
                period=self.period,
                counts=c.counts(),
                cpu_cores=round(cores, 3),
                taken_over=sorted(holder.taken_over),
                counters=read_counters(),
            )
            with contextlib.suppress(Exception):  # a missed beat is what it would say anyway
                await say(out, beat)
