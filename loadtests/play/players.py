"""One small player per flow: builds the flow's messages, sends them through the agency's own
client and records the outcome against the ground truth."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from loadtests.measure import HopLedger, Judgement, PhaseLedger, Timeline
from loadtests.play.watchers import ChangeWatch
from loadtests.play.workload import Expected, Truth, Verdict, Workload
from loadtests.report import ExampleStamps, IncorrectExample
from loadtests.scenario import Arrival
from services.ministry import CitizenReplica, ask
from services.process import metrics
from services.requester import AgencyClient, Result
from services.wire import CIVIL, DOSSIERS, Codec, Outcome, Request
from services.world import citizen_ref

LATE_TOLERANCE_S = 0.010


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

    def citizen_ref(self, citizen_id: str) -> str | None:
        """The citizen's keyed reference under the run's audit key, when this side holds it."""
        record = self.hops.transactions
        return None if record is None else citizen_ref(citizen_id, record.key)

    def wall_us(self, intended: float) -> int:
        return int((intended - self.t0 + self.wall0) * 1e6)

    def late(self, agency: str, intended: float, ledger: PhaseLedger) -> None:
        """A request about to be sent: offered in its intended second; counted when late."""
        if self.t0:
            self.timeline.offer(max(0, int(intended - self.t0)), ledger.name)
        if asyncio.get_running_loop().time() - intended > LATE_TOLERANCE_S:
            metrics.LATE_SENDS.labels(agency).inc()
            ledger.late_sends += 1

    def answered(self, ledger: PhaseLedger, latency_s: float, outcome: Outcome) -> None:
        """A request ended: answered in time, or (outcome TIMEOUT) given up on."""
        done = asyncio.get_running_loop().time()
        ledger.ended = max(ledger.ended, done)
        timed_out = outcome is Outcome.TIMEOUT
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
        truth: Truth,
        intended: float,
        ledger: PhaseLedger,
        flow: str,
    ) -> None:
        st = self.stage
        st.late(agency, intended, ledger)
        result = await ask(st.clients[agency], st.replicas.get(agency), request, intended)
        ledger.retries += result.attempts - 1
        answer = result.answer
        if answer is None:  # a timeout: nothing came back to judge
            ledger.record(flow, result.outcome, True, result.latency_s)
            judged = Judgement(truth.alive.describe(), None)
        else:
            fields = list(getattr(answer, "mismatched_fields", []) or [])
            data = dict(getattr(answer, "data", {}) or {})
            verdict = st.workload.judge(truth, answer.outcome, fields, data, answer.citizen_version)
            example = None
            if not verdict.correct:
                example = self.example(agency, flow, request, result, verdict, fields, data)
            ledger.record(flow, result.outcome, verdict.correct, result.latency_s, example)
            ledger.raced += verdict.raced
            judged = Judgement(verdict.expected.describe(), verdict.correct)
        st.hops.record(agency, flow, ledger.name, request, result, judged)
        st.answered(ledger, result.latency_s, result.outcome)

    def example(
        self,
        agency: str,
        flow: str,
        request: Request,
        result: Result,
        verdict: Verdict,
        fields: list[str],
        data: dict[str, str],
    ) -> IncorrectExample:
        """An incorrect answer, with what is needed to find out why."""
        answer, s = result.answer, result.stamps
        return IncorrectExample(
            request_id=request.request_id,
            agency=agency,
            flow=flow,
            citizen_ref=self.stage.citizen_ref(request.citizen_id),
            expected=verdict.expected.describe(),
            why=verdict.why,
            got=_got(result.outcome, fields, data, verdict.expected),
            responder=None if answer is None else answer.responder,
            attempts=result.attempts,
            citizen_version=-1 if answer is None else answer.citizen_version,
            stamps=None
            if s is None
            else ExampleStamps(
                intended_us=s.intended_us,
                sent_us=s.sent_us,
                received_us=s.received_us,
                request_append_ms=s.request_append_ms,
                registry_received_us=s.registry_received_us,
                registry_answered_us=s.registry_answered_us,
                reply_append_ms=s.reply_append_ms,
            ),
        )


def _got(outcome: Outcome, fields: list[str], data: dict[str, str], expected: Expected) -> str:
    """What came back, in the words of Expected.describe, and which released fields differ
    from the expectation (by name; only the deceased flag, never personal, with its value)."""
    got = Expected(outcome, tuple(sorted(fields)), data).describe()
    differ = sorted(f for f in {*data, *expected.data} if data.get(f) != expected.data.get(f))
    if not differ:
        return got
    said = [f"{f}={data.get(f, '-')}" if f == "deceased" else f for f in differ]
    return f"{got}; differs in {', '.join(said)}"


class VerifyPlayer(Player):
    flow = "verify"

    async def play(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        p = a.agency
        req, truth = self.stage.workload.verification(
            p.agency, p.province, rid, self.stage.wall_us(intended)
        )
        await self.ask(p.agency, req, truth, intended, ledger, self.flow)


class LookupPlayer(Player):
    flow = "lookup"

    async def play(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        p = a.agency
        req, truth = self.stage.workload.lookup(
            p.agency, p.agreements, rid, self.stage.wall_us(intended)
        )
        await self.ask(p.agency, req, truth, intended, ledger, self.flow)


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
        req, truth = st.workload.verification(p.agency, p.province, rid, at_us, service)
        await self.ask(p.agency, req, truth, intended, ledger, "verify")


class DeathPlayer(Player):
    """The civil-status body reports a death; answered when the registry publishes the change."""

    flow = "death"

    async def play(self, a: Arrival, rid: str, intended: float, ledger: PhaseLedger) -> None:
        st, agency = self.stage, a.agency.agency
        event, _ = st.workload.death(agency, rid, st.wall_us(intended))
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
        outcome = Outcome.TIMEOUT if change is None else Outcome(change.change)
        example = None
        if change is not None and (change.citizen_id, outcome) != (event.citizen_id, Outcome.DIED):
            other = "" if change.citizen_id == event.citizen_id else " of another citizen"
            example = IncorrectExample(
                request_id=rid,
                agency=agency,
                flow=self.flow,
                citizen_ref=st.citizen_ref(event.citizen_id),
                expected=Outcome.DIED,
                why="a reported death is published as a DIED change of the same citizen",
                got=f"{change.change}{other}",
                attempts=attempts,
            )
        ledger.record(self.flow, outcome, example is None, latency, example)
        if st.hops.transactions is not None:
            judged = Judgement(Outcome.DIED, None if change is None else example is None)
            done = Result(outcome, None, latency, attempts)
            st.hops.transactions.add(agency, self.flow, ledger.name, event, done, judged)
        st.answered(ledger, latency, outcome)


PLAYERS: dict[str, type[Player]] = {
    p.flow: p for p in (VerifyPlayer, LookupPlayer, DossierPlayer, DeathPlayer)
}
