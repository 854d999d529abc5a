"""The open-model driver: arrivals sent on schedule, latency from the intended send time."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from itertools import accumulate

from loadtests.agencies import PlayedAgency, flow_pools
from loadtests.arrivals import arrival_times
from loadtests.cached import ask, replicas_for
from loadtests.hops import HopLedger
from loadtests.ledger import PhaseLedger
from loadtests.scenario import Period, Scenario
from loadtests.timeline import Timeline
from loadtests.watchers import ChangeWatch, Subscribers
from loadtests.workload import Expected, Workload
from services.registry.population import Population
from services.shared import metrics
from services.shared.access import DRIVER
from services.shared.codec import Codec
from services.shared.messages import Request
from services.shared.requester import AgencyClient, RetryPolicy
from services.shared.runconfig import RunConfig
from services.shared.topics import CIVIL, DOSSIERS
from services.shared.transport import Transport

log = logging.getLogger("ndx.driver")
LATE_TOLERANCE_S = 0.010
YIELD_EVERY = 64
DEATH_GRACE_S = 1.0  # after confirmation, before a dead citizen is verified (other instances)


PeriodHook = Callable[[PhaseLedger], Awaitable[None]]
Transports = Callable[[str], Transport]  # the clients of one principal (an agency, the driver)
StartHook = Callable[[str], None]


class Driver:
    """Plays a scenario's periods against the platform through real agency clients."""

    def __init__(
        self, scenario: Scenario, agencies: Sequence[PlayedAgency], transports: Transports,
        codec: Codec, population: Population, config: RunConfig,
    ) -> None:  # fmt: skip
        self.scenario, self.agencies, self.run_id = scenario, list(agencies), config.run_id
        self.rng = random.Random(config.seed)
        self.workload = Workload(population, scenario.errors, self.rng, scenario.returning)
        self.requesters = requesters = config.design.requesters
        policy = RetryPolicy.of(requesters)
        timeout = requesters.timeout_s
        self.clients = {
            a.agency: AgencyClient(a.agency, transports(a.agency), codec, timeout, policy)
            for a in agencies
        }
        self.pools = flow_pools(scenario, self.agencies)
        self.watch = ChangeWatch(transports(DRIVER), codec, self.workload.pending_deaths)
        subscribing = [a.agency for a in agencies if a.subscribes]
        self.replicas = replicas_for(agencies, config.design.ministries)
        self.subscribers = Subscribers(transports, codec, self.clients, subscribing, self.replicas)
        self.codec = codec
        self.phases: list[PhaseLedger] = []
        self.timeline = Timeline()
        self.hops = HopLedger()
        self._tasks: set[asyncio.Task[None]] = set()
        self._count = 0
        self._t0 = self._wall0 = 0.0
        self._late0 = 0
        self.warmup: PhaseLedger | None = None
        self.current: PhaseLedger | None = None

    async def start(self) -> None:
        started: list[AgencyClient] = []
        try:
            for client in self.clients.values():
                await client.start()
                started.append(client)
            await self.watch.start()
            await self.subscribers.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self.subscribers.stop()
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
        self.subscribers.pause(agency)

    def resume_agency(self, agency: str) -> None:
        self.clients[agency].replies.resume()
        self.subscribers.resume(agency)

    async def warm_up(self) -> PhaseLedger | None:
        """Traffic at the first period's rate before anything is measured (a fresh broker and
        fresh processes are slower for their first seconds); still fully accounted for."""
        seconds = self.scenario.warmup_s
        if not seconds:
            return None
        first = self.scenario.periods[0]
        period = Period(name="warm-up", duration_s=seconds, rate_per_s=self.scenario.rate(first),
                        online_share=first.online_share)  # fmt: skip
        self._start_clock()
        self.warmup = await self._play_period(period, measured=False)
        await self._drain(self.warmup, period)
        return self.warmup

    def _start_clock(self) -> None:
        if not self._t0:
            self._t0, self._wall0 = asyncio.get_running_loop().time(), time.time()
            self._late0 = self.late_answers

    async def _drain(self, ledger: PhaseLedger, period: Period) -> None:
        """A period ends when all it sent is accounted for."""
        if self._tasks:
            await asyncio.gather(*self._tasks)
        ledger.ended = max(ledger.ended, ledger.started + period.duration_s)
        ledger.change_deliveries = self.subscribers.take_deliveries()
        ledger.late_answers, self._late0 = self.late_answers - self._late0, self.late_answers

    async def play(
        self, on_period_end: PeriodHook | None = None, on_period_start: StartHook | None = None
    ) -> list[PhaseLedger]:
        self._start_clock()
        for period in self.scenario.periods:
            if on_period_start is not None:
                on_period_start(period.name)
            ledger = await self._play_period(period)
            self.phases.append(ledger)
            await self._drain(ledger, period)
            if on_period_end is not None:
                await on_period_end(ledger)
        return self.phases

    async def _play_period(self, period: Period, measured: bool = True) -> PhaseLedger:
        loop = asyncio.get_running_loop()
        sc = self.scenario
        rate = sc.rate(period)
        ledger = PhaseLedger(period.name, rate, online_target=period.online_share)
        self.current = ledger
        gauge = metrics.SCENARIO_PERIOD.labels(sc.name, period.name)
        if measured:
            gauge.set(1)
        times = arrival_times(rate, period.duration_s, sc.time_compression, sc.diurnal, self.rng,
                              period.max_requests)  # fmt: skip
        ledger.target_rate = len(times) / period.duration_s  # the profile's shape included
        flows = list(self.pools)
        mix = sc.mix.weights()
        flow_cum = list(accumulate(mix[f] for f in flows))
        start = ledger.started = loop.time()
        for i, offset in enumerate(times):
            due = start + offset
            delay = due - loop.time()
            if delay > 0.001:
                await asyncio.sleep(delay)
            flow = self.rng.choices(flows, cum_weights=flow_cum)[0]
            pool, cum = self.pools[flow]
            self._fire(flow, self.rng.choices(pool, cum_weights=cum)[0], due, ledger)
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        remaining = start + period.duration_s - loop.time()
        if remaining > 0:
            await asyncio.sleep(remaining)
        gauge.set(0)
        return ledger

    def _fire(self, flow: str, agency: PlayedAgency, intended: float, ledger: PhaseLedger) -> None:
        self._count += 1
        rid = f"{self.run_id}:{self._count:x}"
        at_us = int((intended - self._t0 + self._wall0) * 1e6)
        w, a = self.workload, agency.agency
        ledger.sent += 1
        ledger.flows[flow] += 1
        ledger.agencies[a] += 1
        job: Awaitable[None]
        if flow == "lookup":
            lookup, exp = w.lookup(a, agency.agreements, rid, at_us)
            job = self._request("lookup", a, lookup, exp, intended, ledger)
        elif flow == "death":
            job = self._death(a, rid, at_us, intended, ledger)
        elif flow == "dossier":
            job = self._dossier(agency, rid, at_us, intended, ledger)
        else:
            req, exp = w.verification(a, agency.province, rid, at_us)
            job = self._request("verify", a, req, exp, intended, ledger)
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dossier(
        self, agency: PlayedAgency, rid: str, at_us: int, intended: float, ledger: PhaseLedger
    ) -> None:
        """A portal records the dossier and verifies its applicant: one sharing transaction."""
        share = ledger.online_target or 0.0
        k = sum(ledger.dossiers.values())
        channel = "ONLINE" if int((k + 1) * share) > int(k * share) else "COUNTER"
        ledger.dossiers[channel] += 1
        dossier, service = self.workload.dossier(agency.agency, agency.province or "", rid,
                                                 channel, at_us)  # fmt: skip
        client = self.clients[agency.agency]
        await self._send(client, DOSSIERS.name, self.codec.encode(dossier), agency.agency.encode())
        req, exp = self.workload.verification(agency.agency, agency.province, rid, at_us, service)
        await self._request("verify", agency.agency, req, exp, intended, ledger)

    async def _death(
        self, agency: str, rid: str, at_us: int, intended: float, ledger: PhaseLedger
    ) -> None:
        """The civil-status body reports a death; done when the registry publishes the change."""
        event, citizen = self.workload.death(agency, rid, at_us)
        loop = asyncio.get_running_loop()
        self._late(agency, intended, ledger)
        waiting = self.watch.expect(rid)
        data, client = self.codec.encode(event), self.clients[agency]
        change = None
        for attempt in range(client.policy.retries + 1):  # resent as is: the registry dedups it
            ledger.retries += attempt > 0
            await self._send(client, CIVIL.name, data, event.citizen_id.encode())
            limit = self.requesters.timeout_s * client.policy.backoff**attempt
            change = await self.watch.wait(waiting, limit)
            if change is not None:
                break
        self.watch.forget(rid)
        latency = loop.time() - intended
        if change is None:
            ledger.record("death", "TIMEOUT", True, latency)
            return
        correct = change.citizen_id == citizen.citizen_id and change.change == "DIED"
        ledger.record("death", change.change, correct, latency, "" if correct else repr(change))
        self._second(int(loop.time() - self._t0), ledger.name, latency)
        loop.call_later(DEATH_GRACE_S, self.workload.deceased_pool.append,
                        replace(citizen, deceased=True))  # fmt: skip

    async def _send(self, client: AgencyClient, topic: str, data: bytes, key: bytes) -> None:
        """A send the platform refuses (broker away) is logged; what depends on it times out."""
        try:
            await client.producer.send(topic, data, key=key)
        except Exception as exc:
            log.warning("%s: send to %s failed: %s", client.agency, topic, exc)

    def _late(self, agency: str, intended: float, ledger: PhaseLedger) -> None:
        if asyncio.get_running_loop().time() - intended > LATE_TOLERANCE_S:
            metrics.LATE_SENDS.labels(agency).inc()
            ledger.late_sends += 1

    async def _request(
        self, flow: str, agency: str, request: Request, expected: Expected, intended: float,
        ledger: PhaseLedger,
    ) -> None:  # fmt: skip
        self._late(agency, intended, ledger)
        result = await ask(self.clients[agency], self.replicas.get(agency), request, intended)
        ledger.retries += result.attempts - 1
        answer = result.answer
        fields = list(getattr(answer, "mismatched_fields", []) or [])
        data = dict(getattr(answer, "data", {}) or {})
        correct = expected.matches(result.outcome, fields, data)
        detail = "" if correct else (
            f"{flow}: expected {expected.outcome} {expected.fields} {expected.data}, "
            f"got {result.outcome} {fields} {data}")  # fmt: skip
        ledger.record(flow, result.outcome, correct, result.latency_s, detail)
        self.hops.record(agency, flow, ledger.name, request, result)
        done = asyncio.get_running_loop().time()
        ledger.ended = max(ledger.ended, done)
        self._second(int(done - self._t0), ledger.name, result.latency_s)

    def _second(self, index: int, phase: str, latency_s: float) -> None:
        self.timeline.record(index, phase, latency_s)
