"""The open-model driver: the scheduler's arrivals fired on time, each played by its flow's
player; latency counts from the intended send time."""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Callable, Collection, Sequence

from loadtests.measure import HopLedger, PhaseLedger, Timeline
from loadtests.play.periodloop import PeriodHook, StartHook, play_periods
from loadtests.play.players import PLAYERS, Stage
from loadtests.play.watchers import ChangeWatch
from loadtests.play.workload import Workload
from loadtests.scenario import Arrival, Period, PeriodPlan, PlayedAgency, Scenario, Scheduler
from services.config import RunConfig
from services.kafka import Transport
from services.ministry import Ministry
from services.process import EVENT_LOOP, Clock, metrics
from services.requester import AgencyClient, RetryPolicy
from services.security import DRIVER
from services.wire import Codec
from services.world import Population

YIELD_EVERY = 64

Transports = Callable[[str], Transport]  # the clients of one principal (an agency, the driver)


def owner_of(citizen_id: str, shares: int) -> int:
    """Which share may draw a citizen: workers never ask about one another's citizens, so a
    death one of them reports cannot race a verification another expects to MATCH."""
    return zlib.crc32(citizen_id.encode()) % shares


class Driver:
    """Plays a scenario's periods (or one share of them) through real agency clients."""

    def __init__(
        self,
        scenario: Scenario,
        agencies: Sequence[PlayedAgency],
        transports: Transports,
        codec: Codec,
        population: Population,
        config: RunConfig,
        mine: Collection[str] | None = None,
        shares: tuple[Collection[int], int] = ((0,), 1),
        clock: Clock = EVENT_LOOP,
    ) -> None:
        self.scenario, self.run_id, self.clock = scenario, config.run_id, clock
        self.scheduler = Scheduler(scenario, agencies, config.seed)
        self.mine = None if mine is None else frozenset(mine)
        self.agencies = [a for a in agencies if self.mine is None or a.agency in self.mine]
        held, count = frozenset(shares[0]), shares[1]
        owns = None if count == 1 else (lambda cid: owner_of(cid, count) in held)
        rng = random.Random(f"{config.seed}:work:{sorted(held)}")
        workload = Workload(population, scenario.errors, rng, scenario.returning, owns)
        requesters = config.design.requesters
        policy = RetryPolicy.of(requesters)
        timeout = requesters.timeout_s
        self.clients = {
            a.agency: AgencyClient(
                a.agency, transports(a.agency), codec, timeout, policy, clock=self.clock
            )
            for a in self.agencies
        }
        self.watch = ChangeWatch(transports(DRIVER), codec, workload.pending_deaths)
        subscribing = {a.agency: a.verify_purposes for a in self.agencies if a.subscribes}
        self.ministry = Ministry(
            transports, codec, self.clients, subscribing, config.design.ministries
        )
        self.replicas = self.ministry.replicas
        self.stage = Stage(workload, self.clients, self.replicas, self.watch, codec)
        self.players = {flow: player(self.stage) for flow, player in PLAYERS.items()}
        self.phases: list[PhaseLedger] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._late0 = self._deliveries0 = 0
        self.warmup: PhaseLedger | None = None
        self.current: PhaseLedger | None = None

    @property
    def timeline(self) -> Timeline:
        return self.stage.timeline

    @property
    def hops(self) -> HopLedger:
        return self.stage.hops

    async def start(self) -> None:
        """Every agency's clients and the watchers start at once: a worker of many agencies
        is ready in one connection's time, not in the sum of them."""
        try:
            async with asyncio.TaskGroup() as starting:
                for client in self.clients.values():
                    starting.create_task(client.start())
                starting.create_task(self.watch.start())
                starting.create_task(self.ministry.start())
        except BaseExceptionGroup as failed:  # the others were cancelled: stop what started
            await self.stop()
            raise failed.exceptions[0] from None
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self.ministry.stop()
        await self.watch.stop()
        await asyncio.gather(*(c.stop() for c in self.clients.values()), return_exceptions=True)

    @property
    def late_answers(self) -> int:
        return sum(c.late_answers for c in self.clients.values())

    def ledgers(self) -> list[PhaseLedger]:
        """Every ledger so far, the one playing now included, for the live view."""
        seen = [x for x in (self.warmup, *self.phases) if x is not None]
        if self.current is not None and self.current not in seen:
            seen.append(self.current)
        return seen

    def pause_agency(self, agency: str) -> None:
        """A slow partner: it stops reading its answers and its change feed until resumed."""
        self.clients[agency].replies.pause()
        self.ministry.pause(agency)

    def resume_agency(self, agency: str) -> None:
        self.clients[agency].replies.resume()
        self.ministry.resume(agency)

    def start_clock(self, t0: float | None = None, wall0: float | None = None) -> None:
        """The run's common start: loop time and the wall clock at that moment."""
        st = self.stage
        if not st.t0:
            st.t0 = self.clock.now() if t0 is None else t0
            st.wall0 = time.time() if wall0 is None else wall0
            self._late0 = self.late_answers

    async def warm_up(self) -> PhaseLedger | None:
        """Traffic at the first period's rate before anything is measured (a fresh broker and
        fresh processes are slower for their first seconds); still fully accounted for."""
        periods = self.scheduler.periods()
        if not periods or periods[0][0] != 0:
            return None
        self.start_clock()
        self.warmup = await self.play_period(0, periods[0][1])
        return self.warmup

    async def play(
        self, on_period_end: PeriodHook | None = None, on_period_start: StartHook | None = None
    ) -> list[PhaseLedger]:
        self.start_clock()
        return await play_periods(
            self.scheduler.periods(), self.play_period, self.phases, on_period_end, on_period_start
        )

    async def play_period(
        self, index: int, period: Period, start: float | None = None
    ) -> PhaseLedger:
        """Fire this share's arrivals of the period on time, then drain: a period ends when all
        it sent is accounted for. `start` (loop time) is the period's common start."""
        plan = self.scheduler.plan(period, index, self.mine)
        ledger = await self._fire_all(plan, start)
        if self._tasks:
            await asyncio.gather(*self._tasks)
        ledger.ended = max(ledger.ended, ledger.started + period.duration_s)
        delivered = self.ministry.deliveries
        ledger.change_deliveries, self._deliveries0 = delivered - self._deliveries0, delivered
        ledger.late_answers, self._late0 = self.late_answers - self._late0, self.late_answers
        return ledger

    async def _fire_all(self, plan: PeriodPlan, start: float | None) -> PhaseLedger:
        clock = self.clock
        period, sc = plan.period, self.scenario
        ledger = PhaseLedger(period.name, sc.rate(period), online_target=period.online_share)
        ledger.target_rate = plan.planned / period.duration_s  # the profile's shape included
        self.current = ledger
        gauge = metrics.SCENARIO_PERIOD.labels(sc.name, period.name)
        gauge.set(plan.index > 0)
        begin = ledger.started = clock.now() if start is None else start
        for i, a in enumerate(plan.arrivals):
            due = begin + a.offset
            delay = due - clock.now()
            if delay > 0.001:
                await clock.sleep(delay)
            self._fire(a, f"{self.run_id}:{plan.index}:{a.seq:x}", due, ledger)
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        remaining = begin + period.duration_s - clock.now()
        if remaining > 0:
            await clock.sleep(remaining)
        gauge.set(0)
        return ledger

    def _fire(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        ledger.sent += 1
        ledger.flows[a.flow] += 1
        ledger.agencies[a.agency.agency] += 1
        task = asyncio.create_task(self.players[a.flow].play(a, rid, intended, ledger))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
