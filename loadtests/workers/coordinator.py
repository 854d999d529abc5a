"""The coordinator: announces the plan on the cluster, lets Kafka's group protocol hand the shares
to workers, starts every period at one wall-clock moment and merges what the workers measured."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from loadtests.measure import HopLedger, PhaseLedger, Timeline
from loadtests.play import PeriodHook, StartHook, play_periods
from loadtests.scenario import Period, PlayedAgency, Scenario, Scheduler
from loadtests.stack import WORK_PLANS
from loadtests.workers.gather import gather
from loadtests.workers.membership import Membership
from loadtests.workers.results import Results, WorkerState, live_ledger, merge_done, merge_period
from loadtests.workers.sharebus import write_shares
from loadtests.workers.spawn import LocalWorkers
from loadtests.workers.workplan import (
    Command,
    WorkPlan,
    insist,
    split,
    worker_client,
    workers_group,
)
from services.config import RunConfig
from services.kafka import ClusterTransport
from services.process import metrics

log = logging.getLogger("ndx.coordinator")
# A period starts this long after its command, so every worker hears it first. The first
# command (the warm-up's, never measured) gets a set lead; later ones a lead fitted to how late
# the slowest worker heard the last one (delivery and clock skew), with room to spare, between
# the floor and the full lead.
FIRST_LEAD_S = 1.0
START_LEAD_S = 2.0
MIN_LEAD_S = 0.5
LEAD_SPARE = 3.0  # the fitted lead is this many times the slowest worker's hearing delay
END_LIMIT_S = 30.0


class Coordinator:
    """Plays a scenario through worker processes; presents what a Driver does to the run."""

    def __init__(
        self,
        scenario: Scenario,
        agencies: Sequence[PlayedAgency],
        config: RunConfig,
        control: ClusterTransport,
        workers: int,
        local: LocalWorkers | None,
        record_dir: Path | None = None,
    ) -> None:
        self.scenario, self.config, self.control, self.local = scenario, config, control, local
        self.run_id = config.run_id
        self.shares = split(agencies, workers)
        self.plan = WorkPlan(
            run_id=self.run_id,
            config=config,
            scenario=scenario,
            agencies=list(agencies),
            shares=self.shares,
            announced_at=time.time(),
            record_dir=str(record_dir or ""),
        )
        self.scheduler = Scheduler(scenario, agencies, config.seed)
        self.results = Results(control, self.run_id)
        self.members = Membership(
            control.bootstrap, control.security, workers_group(self.run_id), control.connect_timeout
        )
        self.out = control.producer("ndxsim.coordinator")
        self.timeline = Timeline()
        self.hops = HopLedger()  # the workers' hop ledgers, added
        self.phases: list[PhaseLedger] = []
        self.warmup: PhaseLedger | None = None
        self.current_index = -1
        self.unclaimed: list[int] = []
        self.played: list[tuple[int, Period]] = []
        self._opened: list[Callable[[], Awaitable[None]]] = []
        self.lead_s = FIRST_LEAD_S

    @property
    def workers(self) -> list[WorkerState]:
        return self.results.ready()

    async def start(self) -> None:
        for share in self.shares:
            for agency in share.agencies:
                metrics.LATE_SENDS.labels(agency)  # present at 0 before any send is late
        await self.results.start()
        self._opened.append(self.results.stop)
        await self.members.start()
        self._opened.append(self.members.stop)
        await self.out.start()
        self._opened.append(self.out.stop)
        self.results.tick_with(self.out)
        await self._say(self.plan)
        c = self.control
        await write_shares(c.bootstrap, c.tuning, c.security, self.run_id, len(self.shares))
        if self.local is not None:
            self.local.start()
        self.unclaimed = await gather(
            self.results, len(self.shares), self.run_id, lambda: self._command("claim"), self._dead
        )

    async def _say(self, message: WorkPlan | Command) -> None:
        data = message.model_dump_json().encode()
        await insist(lambda: self.out.send(WORK_PLANS.name, data, key=self.run_id.encode()))

    async def _command(self, kind: str, **fields: object) -> None:
        await self._say(Command.model_validate({"kind": kind, "run_id": self.run_id, **fields}))

    def _dead(self, w: WorkerState) -> bool:
        exited = self.local is not None and self.local.exited(w.name)
        return self.results.dead(w, exited, self.members.gone(worker_client(w.name)))

    async def pause_agency(self, agency: str) -> None:
        await self._command("pause", agency=agency)

    async def resume_agency(self, agency: str) -> None:
        await self._command("resume", agency=agency)

    async def warm_up(self) -> PhaseLedger | None:
        periods = self.scheduler.periods()
        if periods[0][0] != 0:
            return None
        self.warmup = await self._play_period(0, periods[0][1])
        return self.warmup

    async def play(
        self, on_period_end: PeriodHook | None = None, on_period_start: StartHook | None = None
    ) -> list[PhaseLedger]:
        return await play_periods(
            self.scheduler.periods(), self._play_period, self.phases, on_period_end, on_period_start
        )

    async def _play_period(self, index: int, period: Period) -> PhaseLedger:
        self.current_index = index
        self.played.append((index, period))
        playing = [w for w in self.workers if w.claimed and not self._dead(w)]
        gauge = metrics.SCENARIO_PERIOD.labels(self.scenario.name, period.name)
        gauge.set(index > 0)  # the driver's /metrics says which period plays (rules join on it)
        lead = self.lead_s
        await self._command("start", period=index, at=time.time() + lead)
        await self.results.until(lambda: all(index in w.periods or self._dead(w) for w in playing))
        self.lead_s = fitted_lead(
            lead, [w.heard_ahead[index] for w in playing if index in w.heard_ahead]
        )
        ledger = PhaseLedger(
            period.name, self.scenario.rate(period), online_target=period.online_share
        )
        ledger.target_rate = self.scheduler.plan(period, index, ()).planned / period.duration_s
        merge_period(ledger, index, playing)
        ledger.ended = max(ledger.ended, ledger.started + period.duration_s)
        gauge.set(0)
        self.current_index = -1
        return ledger

    def ledgers(self) -> list[PhaseLedger]:
        """Every merged ledger so far, and the period playing now from the workers' progress."""
        seen = [x for x in (self.warmup, *self.phases) if x is not None]
        if self.current_index >= 0:
            name, rate = self.played[-1][1].name, self.scenario.rate(self.played[-1][1])
            now = live_ledger(name, rate, self.current_index, self.workers)
            seen.append(now)
        return seen

    @property
    def late_answers(self) -> int:
        return sum(x.late_answers for x in self.ledgers())

    async def stop(self) -> None:
        """The run's end: every live worker reports its last word and leaves (bounded); then
        every client it opened is closed, the group's watcher included."""
        try:
            if self.out.stop in self._opened:  # started far enough to speak to the workers
                await self._command("end")
                live = [w for w in self.workers if not self._dead(w)]
                await self.results.until(
                    lambda: all(w.done is not None or self._dead(w) for w in live), END_LIMIT_S
                )
                merge_done(self.timeline, self.hops, self.workers)
        finally:
            for close in reversed(self._opened):
                await close()
            self._opened.clear()


def fitted_lead(lead: float, heard_ahead: list[float]) -> float:
    """The next command's lead from how far ahead of a start given `lead` ahead each worker
    heard it: the slowest one's delay, with room to spare, between the floor and the full lead."""
    if not heard_ahead:
        return START_LEAD_S
    delay = max(lead - min(heard_ahead), 0.0)
    return min(START_LEAD_S, max(MIN_LEAD_S, LEAD_SPARE * delay))
