"""Steady verification traffic through real agency clients, with per-request accounting."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.kafka.transport import Transport
from services.requester.agency import AgencyClient
from services.wire.codec import Catalogue, Codec, CodecError
from services.wire.messages import (
    CitizenChanged,
    Outcome,
    VerificationAnswered,
    VerificationRequested,
)
from services.wire.topics import CHANGES
from services.world.population import Population
from tests.support.inproc import SEED


@dataclass(slots=True)
class Ended:
    agency: str
    sent_at: float  # loop time
    done_at: float
    outcome: Outcome
    responder: str
    correct: bool


@dataclass
class Traffic:
    """Sends verifications of living citizens with their true data: every answer must be MATCH."""

    clients: list[AgencyClient]
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    population: Population = field(default_factory=lambda: Population(SEED))
    sent: int = 0
    sent_ids: set[str] = field(default_factory=set)
    results: dict[str, Ended] = field(default_factory=dict)
    transport: Transport | None = None
    changed: set[str] = field(default_factory=set)  # citizens with a change on record

    @classmethod
    def build(
        cls, agencies: Sequence[str], transport: Transport, codec: Codec, timeout_s: float
    ) -> Traffic:
        return cls(
            [AgencyClient(a, transport, codec, timeout_s) for a in agencies], transport=transport
        )

    async def start(self) -> None:
        """Read the change log first: earlier runs on the same broker may have registered
        deaths, and those citizens' answers are no longer the procedural MATCH."""
        if self.transport is not None:
            self.changed = await changed_citizens(self.transport)
        for client in self.clients:
            await client.start()

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.clients), return_exceptions=True)

    async def play(self, rate: float, count: int) -> None:
        """Open model: `count` requests at `rate`/s, then wait until each has its result."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for i in range(count):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._one(self.rng.choice(self.clients))))
        await asyncio.gather(*tasks)

    async def _one(self, client: AgencyClient) -> None:
        loop = asyncio.get_running_loop()
        province = client.agency.split(".", 1)[1] if client.agency.startswith("province.") else None
        citizen = self.population.draw_living(self.rng, province)
        while citizen.citizen_id in self.changed:
            citizen = self.population.draw_living(self.rng, province)
        self.sent += 1
        request_id = f"{client.agency}:{time.time_ns():x}:{self.sent:x}"
        self.sent_ids.add(request_id)
        req = VerificationRequested(
            request_id=request_id,
            requester=client.agency,
            citizen_id=citizen.citizen_id,
            full_name=citizen.full_name,
            birth_date=citizen.birth_date,
            purpose="public-service-dossier",
            service_code="",
            requested_at_us=time.time_ns() // 1000,
        )
        sent_at = loop.time()
        result = await client.request(req)
        answer = result.answer
        assert request_id not in self.results, f"{request_id} got two results"
        self.results[request_id] = Ended(
            client.agency,
            sent_at,
            loop.time(),
            result.outcome,
            answer.responder if isinstance(answer, VerificationAnswered) else "",
            isinstance(answer, VerificationAnswered)
            and answer.request_id == request_id
            and answer.outcome == Outcome.MATCH,
        )

    @property
    def late_answers(self) -> int:
        return sum(c.late_answers for c in self.clients)

    def ledger(self) -> dict[str, int]:
        """sent, answered, timed_out, incorrect and lost, like a run's ledger."""
        outcomes = Counter(r.outcome for r in self.results.values())
        answered = len(self.results) - outcomes[Outcome.TIMEOUT]
        return {
            "sent": self.sent,
            "answered": answered,
            "timed_out": outcomes[Outcome.TIMEOUT],
            "incorrect": sum(1 for r in self.results.values() if r.outcome is not Outcome.TIMEOUT)
            - sum(1 for r in self.results.values() if r.correct),
            "lost": self.sent - answered - outcomes[Outcome.TIMEOUT],
        }


async def changed_citizens(transport: Transport) -> set[str]:
    """Every citizen the registry holds a change for, read from the compacted change log."""
    codec = Codec(Catalogue())
    await transport.ensure_topics([CHANGES])
    consumer = transport.consumer([CHANGES.name], "traffic.changes", None, True)
    await consumer.start()
    out: set[str] = set()
    try:
        while not await consumer.at_end():
            for rec in await consumer.getmany(timeout_ms=200, max_records=5000):
                try:
                    change = codec.decode(rec.value or b"")
                except CodecError:
                    continue
                if isinstance(change, CitizenChanged):
                    out.add(change.citizen_id)
    finally:
        await consumer.stop()
    return out
