"""The open-model driver: Poisson arrivals sent on schedule, latency from the intended send time."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from loadtests.ledger import PhaseLedger, latency_summary, new_histogram
from loadtests.scenario import Period, Scenario
from loadtests.workload import Expected, Workload
from services.registry.population import Population
from services.shared import metrics
from services.shared.codec import Codec
from services.shared.messages import VerificationRequested
from services.shared.requester import AgencyClient
from services.shared.transport import Transport

LATE_TOLERANCE_S = 0.010
YIELD_EVERY = 64


@dataclass(frozen=True, slots=True)
class PlayedAgency:
    agency: str
    weight: float
    province: str | None  # citizens drawn from this birth province; None = nationwide


@dataclass
class Second:
    phase: str
    answered: int = 0
    latency: HdrHistogram = field(default_factory=lambda: new_histogram(2))


class Driver:
    """Plays a scenario's periods against the platform through real agency clients."""

    def __init__(
        self,
        scenario: Scenario,
        agencies: Sequence[PlayedAgency],
        transport: Transport,
        codec: Codec,
        population: Population,
        seed: int,
        run_id: str,
    ) -> None:
        self.scenario, self.agencies = scenario, list(agencies)
        self.rng = random.Random(seed)
        self.workload = Workload(population, scenario.errors, self.rng)
        self.clients = {
            a.agency: AgencyClient(a.agency, transport, codec, scenario.timeout_s) for a in agencies
        }
        self.run_id = run_id
        self.phases: list[PhaseLedger] = []
        self.seconds: list[Second] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._count = 0
        self._t0 = 0.0
        self._wall0 = 0.0

    async def start(self) -> None:
        started: list[AgencyClient] = []
        try:
            for client in self.clients.values():
                await client.start()
                started.append(client)
        except BaseException:
            await asyncio.gather(*(c.stop() for c in started), return_exceptions=True)
            raise

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.clients.values()), return_exceptions=True)

    @property
    def late_answers(self) -> int:
        return sum(c.late_answers for c in self.clients.values())

    async def play(self) -> list[PhaseLedger]:
        loop = asyncio.get_running_loop()
        self._t0, self._wall0 = loop.time(), time.time()
        for period in self.scenario.periods:
            await self._play_period(period)
        if self._tasks:
            await asyncio.gather(*self._tasks)
        for ledger in self.phases:
            ledger.ended = max(ledger.ended, ledger.started)
        return self.phases

    async def _play_period(self, period: Period) -> None:
        loop = asyncio.get_running_loop()
        rate = self.scenario.rate(period)
        ledger = PhaseLedger(period.name, rate)
        self.phases.append(ledger)
        gauge = metrics.SCENARIO_PERIOD.labels(self.scenario.name, period.name)
        gauge.set(1)
        weights = [a.weight for a in self.agencies]
        start = ledger.started = loop.time()
        end = start + period.duration_s
        due = start + self.rng.expovariate(rate)
        fired = 0
        limit = period.max_requests or float("inf")
        while due < end and fired < limit:
            now = loop.time()
            if due > now + 0.001:
                await asyncio.sleep(due - now)
                continue
            agency = self.rng.choices(self.agencies, weights)[0]
            self._fire(agency, due, ledger)
            due += self.rng.expovariate(rate)
            fired += 1
            if fired % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        gauge.set(0)

    def _fire(self, agency: PlayedAgency, intended: float, ledger: PhaseLedger) -> None:
        self._count += 1
        request_id = f"{self.run_id}:{self._count:x}"
        intended_us = int((intended - self._t0 + self._wall0) * 1e6)
        request, expected = self.workload.verification(
            agency.agency, agency.province, request_id, intended_us
        )
        ledger.sent += 1
        ledger.flows["verify"] += 1
        ledger.agencies[agency.agency] += 1
        task = asyncio.create_task(self._one(agency.agency, request, expected, intended, ledger))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(
        self,
        agency: str,
        request: VerificationRequested,
        expected: Expected,
        intended: float,
        ledger: PhaseLedger,
    ) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - intended > LATE_TOLERANCE_S:
            ledger.late_sends += 1
            metrics.LATE_SENDS.labels(agency).inc()
        result = await self.clients[agency].request(request, intended)
        fields = list(getattr(result.answer, "mismatched_fields", []) or [])
        correct = expected.matches(result.outcome, fields)
        detail = (
            ""
            if correct
            else f"expected {expected.outcome} {expected.fields}, got {result.outcome} {fields}"
        )
        ledger.record(result.outcome, correct, result.latency_s, detail)
        done = loop.time()
        ledger.ended = max(ledger.ended, done)
        self._second(int(done - self._t0), ledger.name, result.latency_s)

    def _second(self, index: int, phase: str, latency_s: float) -> None:
        while len(self.seconds) <= index:
            self.seconds.append(Second(phase))
        bucket = self.seconds[index]
        bucket.answered += 1
        bucket.latency.record_value(max(1, min(120_000_000, int(latency_s * 1e6))))

    def timeline(self) -> list[dict[str, object]]:
        return [
            {
                "t": i,
                "phase": s.phase,
                "answered": s.answered,
                "latency_ms": latency_summary(s.latency),
            }
            for i, s in enumerate(self.seconds)
        ]
