"""One small player per flow: builds the flow's messages, sends them through the agency's own
client and records the outcome against the ground truth."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from loadtests.cached import ask
from loadtests.hops import HopLedger
from loadtests.ledger import PhaseLedger
from loadtests.schedule import Arrival
from loadtests.timeline import Timeline
from loadtests.watchers import ChangeWatch
from loadtests.workload import Expected, Workload
from services.ministry.replica import CitizenReplica
from services.shared import metrics
from services.shared.codec import Codec
from services.shared.messages import Request
from services.shared.requester import AgencyClient
from services.shared.topics import CIVIL, DOSSIERS

LATE_TOLERANCE_S = 0.010
DEATH_GRACE_S = 1.0  # after confirmation, before a dead citizen is verified (other instances)


@dataclass
class Stage:
    """What every player shares: the agencies' clients, the ground truth, the run's clocks."""

    workload: Workload
    clients: dict[str, AgencyClient]
    replicas: dict[str, CitizenReplica]
    watch: ChangeWatch
    codec: Codec
    timeline: Timeline = field(default_factory=Timeline)
    hops: HopLedger = field(default_factory=HopLedger)
    t0: float = 0.0  # loop time of the run's common start
    wall0: float = 0.0  # the wall clock at t0, only for the timestamps messages carry

    def __post_init__(self) -> None:
        for client in self.clients.values():  # late answers and retries, second by second
            client.on_late_answer = self._late_answer
            client.on_retry = self._retried

    def wall_us(self, intended: float) -> int:
        return int((intended - self.t0 + self.wall0) * 1e6)

    def late(self, agency: str, intended: float, ledger: PhaseLedger) -> None:
        """A request about to be sent: offered in its intended second; counted when late."""
        if self.t0:
            self.timeline.offer(max(0, int(intended - self.t0)), ledger.name)
        if asyncio.get_running_loop().time() - intended > LATE_TOLERANCE_S:
            metrics.LATE_SENDS.labels(agency).inc()
            ledger.late_sends += 1

    def answered(self, ledger: PhaseLedger, latency_s: float, outcome: str = "") -> None:
        """A request ended: answered in time, or (outcome TIMEOUT) given up on."""
        done = asyncio.get_running_loop().time()
        ledger.ended = max(ledger.ended, done)
        timed_out = outcome == "TIMEOUT"
        self.timeline.record(max(0, int(done - self.t0)), ledger.name, latency_s, timed_out)

    def _now(self) -> int | None:
        """This second of the run, once it has started."""
        if not self.t0:
            return None
        return max(0, int(asyncio.get_running_loop().time() - self.t0))

    def _late_answer(self) -> None:
        if (now := self._now()) is not None:
            self.timeline.late_answer(now)

    def _retried(self) -> None:
        if (now := self._now()) is not None:
            self.timeline.retry(now)


class Player:
    """Plays one arrival of its flow; `rid` is unique in the run, `intended` is loop time."""

    flow = ""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    async def play(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        raise NotImplementedError

    async def ask(
        self,
        agency: str,
        request: Request,
        expected: Expected,
        intended: float,
        ledger: PhaseLedger,
        flow: str,
    ) -> None:
        st = self.stage
        st.late(agency, intended, ledger)
        result = await ask(st.clients[agency], st.replicas.get(agency), request, intended)
        ledger.retries += result.attempts - 1
        answer = result.answer
        fields = list(getattr(answer, "mismatched_fields", []) or [])
        data = dict(getattr(answer, "data", {}) or {})
        correct = expected.matches(result.outcome, fields, data)
        detail = (
            ""
            if correct
            else (
                f"{flow}: expected {expected.outcome} {expected.fields} {expected.data}, "
                f"got {result.outcome} {fields} {data}"
            )
        )
        ledger.record(flow, result.outcome, correct, result.latency_s, detail)
        st.hops.record(agency, flow, ledger.name, request, result)
        st.answered(ledger, result.latency_s, result.outcome)


class VerifyPlayer(Player):
    flow = "verify"

    async def play(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        p = a.agency
        req, exp = self.stage.workload.verification(
            p.agency, p.province, rid, self.stage.wall_us(intended)
        )
        await self.ask(p.agency, req, exp, intended, ledger, self.flow)


class LookupPlayer(Player):
    flow = "lookup"

    async def play(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        p = a.agency
        req, exp = self.stage.workload.lookup(
            p.agency, p.agreements, rid, self.stage.wall_us(intended)
        )
        await self.ask(p.agency, req, exp, intended, ledger, self.flow)


class DossierPlayer(Player):
    """A portal records the dossier and verifies its applicant: one sharing transaction."""

    flow = "dossier"

    async def play(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        st, p = self.stage, a.agency
        ledger.dossiers[a.channel] += 1
        at_us = st.wall_us(intended)
        dossier, service = st.workload.dossier(p.agency, p.province or "", rid, a.channel, at_us)
        await st.clients[p.agency].publish(
            DOSSIERS.name, st.codec.encode(dossier), p.agency.encode()
        )
        req, exp = st.workload.verification(p.agency, p.province, rid, at_us, service)
        await self.ask(p.agency, req, exp, intended, ledger, "verify")


class DeathPlayer(Player):
    """The civil-status body reports a death; answered when the registry publishes the change."""

    flow = "death"

    async def play(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        st, agency = self.stage, a.agency.agency
        event, citizen = st.workload.death(agency, rid, st.wall_us(intended))
        loop = asyncio.get_running_loop()
        st.late(agency, intended, ledger)
        seen = st.watch.expect(rid)
        try:
            confirmed = await st.clients[agency].confirm(
                CIVIL.name, st.codec.encode(event), event.citizen_id.encode(), seen, self.flow
            )
        finally:
            st.watch.forget(rid)
        change, attempts = confirmed
        ledger.retries += attempts - 1
        latency = loop.time() - intended
        if change is None:
            ledger.record(self.flow, "TIMEOUT", True, latency)
            st.answered(ledger, latency, "TIMEOUT")
            return
        correct = change.citizen_id == citizen.citizen_id and change.change == "DIED"
        ledger.record(self.flow, change.change, correct, latency, "" if correct else repr(change))
        st.answered(ledger, latency)
        loop.call_later(
            DEATH_GRACE_S, st.workload.deceased_pool.append, replace(citizen, deceased=True)
        )


PLAYERS: dict[str, type[Player]] = {
    p.flow: p for p in (VerifyPlayer, LookupPlayer, DossierPlayer, DeathPlayer)
}
