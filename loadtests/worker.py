"""`ndxsim worker`: joins an announced run through the cluster, plays the shares Kafka's group
protocol hands it, and reports what it measured on the results topic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from pathlib import Path

import psutil

from loadtests.driver import Driver
from loadtests.ledger import PhaseLedger
from loadtests.ledgerwire import LedgerWire, timeline_wire
from loadtests.mirror import read_counters
from loadtests.oprecord import OpRecord
from loadtests.planfeed import PlanFeed
from loadtests.records import RECORD_PART
from loadtests.scenarioparts import Period
from loadtests.sharebus import ShareHolder
from loadtests.workplan import (
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
from services.shared.access import DRIVER
from services.shared.codec import Catalogue, Codec
from services.shared.credentials import Credentials
from services.shared.kafka import ClientTuning, KafkaTransport
from services.shared.population import Population
from services.shared.runconfig import RunConfigError
from services.shared.topics import WORK_RESULTS
from services.shared.transport import BrokerUnreachable, Producer, TransportError

log = logging.getLogger("ndx.worker")
PLAN_WAIT_S = 120.0
CLAIM_TRIES = 20
CLAIM_WAIT_S = 300.0  # a plan whose coordinator never says claim (it crashed) is left


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
        self.proc = psutil.Process()
        self.peak = 0.0
        self.driver: Driver | None = None
        self.period = -1

    def transport(self, principal: str, tuning: ClientTuning) -> KafkaTransport:
        security = None if self.credentials is None else self.credentials.security_for(principal)
        return KafkaTransport(self.bootstrap, tuning, security)

    async def run(self, run_id: str | None) -> int:
        """0 when it played its share to the end, 1 when no run could be joined."""
        base = self.transport(DRIVER, ClientTuning(connect_timeout=self.connect_timeout))
        deadline = time.monotonic() + PLAN_WAIT_S
        while True:  # a worker may start before the first run made the cluster's topics
            feed = PlanFeed(base, f"ndxsim.worker.{self.name}.plans", run_id)
            try:
                await feed.start()
                break
            except TransportError as exc:
                if time.monotonic() > deadline or isinstance(exc, BrokerUnreachable):
                    raise
                log.info("waiting for the cluster's topics: %s", exc)
                await asyncio.sleep(2.0)
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
        tuning = ClientTuning.of(plan.config.design, self.connect_timeout)
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
            claimed = await self._claim(plan, feed, holder, out)
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

    async def _say(self, out: Producer, message: Hello | Progress | PeriodDone | Done) -> None:
        data = message.model_dump_json().encode()
        await insist(lambda: out.send(WORK_RESULTS.name, data, key=message.run_id.encode()))

    def _hello(self, plan: WorkPlan, shares: set[int], ready: bool = False) -> Hello:
        return Hello(
            run_id=plan.run_id,
            worker=self.name,
            host=socket.gethostname(),
            pid=os.getpid(),
            shares=sorted(shares),
            ready=ready,
        )

    async def _claim(
        self, plan: WorkPlan, feed: PlanFeed, holder: ShareHolder, out: Producer
    ) -> set[int] | None:
        """Say which shares it holds until the coordinator says claim; then commit them. None
        when the run started or ended without it (it joined too late) or never went ahead."""
        deadline = time.monotonic() + CLAIM_WAIT_S
        while time.monotonic() < deadline:
            await self._say(out, self._hello(plan, set(holder.held)))
            with contextlib.suppress(TimeoutError):
                command = await asyncio.wait_for(feed.commands.get(), 1.0)
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
        driver.hops.transactions = self._record(plan)
        await driver.start()
        log.info("worker %s plays shares %s: %s", self.name, sorted(claimed), sorted(mine))
        cpu0, wall0 = sum(self.proc.cpu_times()[:2]), time.monotonic()
        periods = dict(driver.scheduler.periods())
        playing: asyncio.Task[None] | None = None
        try:
            await self._say(out, self._hello(plan, claimed, ready=True))
            while (command := await feed.commands.get()).kind != "end":
                if command.kind == "start":
                    playing = asyncio.create_task(self._period(plan, command, periods, out))
                elif command.kind in ("pause", "resume") and command.agency in driver.clients:
                    pause = command.kind == "pause"
                    (driver.pause_agency if pause else driver.resume_agency)(command.agency)
            if playing is not None:
                await playing
            part = ""
            if (record := driver.hops.transactions) is not None:
                await asyncio.to_thread(record.close)
                if str(record.path.parent) != plan.record_dir:  # not beside the coordinator's
                    part = str(record.path)
            await self._say(
                out,
                Done(
                    record_part=part,
                    run_id=plan.run_id,
                    worker=self.name,
                    timeline=timeline_wire(driver.timeline),
                    cpu_seconds=sum(self.proc.cpu_times()[:2]) - cpu0,
                    wall_s=time.monotonic() - wall0,
                    peak_cores=self.peak,
                    replicas=[
                        ReplicaCount(ministry=m, held=len(r), hits=r.hits, misses=r.misses)
                        for m, r in sorted(driver.replicas.items())
                    ],
                    counters=read_counters(),
                    hops=driver.hops.encode(),
                ),
            )
        finally:
            await driver.stop()

    def _record(self, plan: WorkPlan) -> OpRecord | None:
        """Its share of the run's transaction record when it holds the run's audit key: beside
        the coordinator's when it reaches the run's folder (a local worker), else in its own
        runs folder, named in the report with its host."""
        if self.record_key is None:
            return None
        here = Path(plan.record_dir) if plan.record_dir else None
        if here is None or not here.is_dir():
            here = self.runs_dir.resolve() / plan.run_id
            here.mkdir(parents=True, exist_ok=True)
        try:
            plan.config.check_key(self.record_key)
        except RunConfigError as exc:
            log.warning("no transaction record: %s", exc)
            return None
        return OpRecord(here / f"{RECORD_PART}{self.name}.parquet", self.record_key)

    async def _period(
        self, plan: WorkPlan, command: Command, periods: dict[int, Period], out: Producer
    ) -> None:
        assert self.driver is not None
        period = periods[command.period]
        self.driver.current = None
        loop = asyncio.get_running_loop()
        start = loop.time() + (command.at - time.time())
        self.driver.start_clock(start, command.at)
        self.period = command.period
        log.info("worker %s plays period %d (%s)", self.name, command.period, period.name)
        ledger = await self.driver.play_period(command.period, period, start)
        wire = LedgerWire.of(ledger, self.driver.stage.t0)
        await self._say(
            out,
            PeriodDone(run_id=plan.run_id, worker=self.name, period=command.period, ledger=wire),
        )

    async def _beat(self, run_id: str, holder: ShareHolder, out: Producer) -> None:
        """Progress every second: what the coordinator shows live, and proof of life."""
        self.proc.cpu_percent(None)
        while True:
            await asyncio.sleep(1.0)
            cores = self.proc.cpu_percent(None) / 100
            self.peak = max(self.peak, cores)
            now = self.driver.current if self.driver is not None else None
            c = now or PhaseLedger("", 0.0)
            beat = Progress(
                run_id=run_id,
                worker=self.name,
                period=self.period,
                sent=c.sent,
                answered=c.answered,
                timed_out=c.timed_out,
                incorrect=c.incorrect,
                late_sends=c.late_sends,
                cpu_cores=round(cores, 3),
                taken_over=sorted(holder.taken_over),
                counters=read_counters(),
            )
            with contextlib.suppress(Exception):  # a missed beat is what it would say anyway
                await self._say(out, beat)
