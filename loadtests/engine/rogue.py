"""A played agency tries what it must not; each attempt must be denied by the broker or refused
by the registry, and is recorded with what happened."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from prometheus_client.parser import text_string_to_metric_families

from loadtests.report import RogueAttempt
from loadtests.stack import scrape
from services.kafka import KafkaTransport, NotAuthorized, TransportError, read_briefly
from services.process import metrics
from services.security import ClientSecurity
from services.wire import CHANGES, VERIFY, Codec, TopicSpec, VerificationRequested, reply_topic

LIMIT_S = 20.0
REFUSAL_WITHIN_S = 30.0
BROKER = "denied by the broker"


class Rogue:
    """One agency's forbidden attempts against a victim agency, on the run's cluster."""

    def __init__(
        self,
        agency: str,
        victim: str,
        bootstrap: str,
        security: ClientSecurity | None,
        codec: Codec,
        registry_ports: list[int],
    ) -> None:
        self.agency, self.victim, self.codec = agency, victim, codec
        self.bootstrap, self.security = bootstrap, security
        self.transport = KafkaTransport(bootstrap, security=security)
        self.registry_ports = registry_ports

    async def attempt_all(self) -> list[RogueAttempt]:
        return [
            await self._try("read_replies", self._read_replies),
            await self._try("write_changes", self._write_changes),
            await self._try("create_topic", self._create_topic),
            await self._impersonate(),
        ]

    async def _try(self, action: str, attempt: Callable[[], Awaitable[None]]) -> RogueAttempt:
        """Run one attempt; an authorization error is the expected, counted outcome."""
        try:
            await asyncio.wait_for(attempt(), LIMIT_S)
        except NotAuthorized as exc:
            metrics.DENIED.labels(self.agency, action).inc()
            return RogueAttempt(action=action, denied=True, result=f"{BROKER}: {exc}"[:160])
        except (TransportError, TimeoutError) as exc:
            return RogueAttempt(
                action=action, denied=False, result=f"failed otherwise: {type(exc).__name__}"
            )
        return RogueAttempt(action=action, denied=False, result="ALLOWED")

    async def _read_replies(self) -> None:
        await read_briefly(self.bootstrap, self.security, reply_topic(self.victim), 2000)

    async def _write_changes(self) -> None:
        producer = self.transport.producer(f"{self.agency}.rogue")
        await producer.start()
        try:
            await producer.send_and_wait(CHANGES.name, b"forged change", key=b"rogue")
        finally:
            await producer.stop()

    async def _create_topic(self) -> None:
        await self.transport.ensure_topics(
            [TopicSpec(f"ndx.rogue.{uuid.uuid4().hex[:8]}", None, 1)]
        )

    def _refusals(self) -> float:
        labels = {"agency": self.agency, "action": "verify"}
        return sum(_sample(p, "ndx_denied_total", labels) for p in self.registry_ports)

    async def _impersonate(self) -> RogueAttempt:
        """A request signed with the rogue's own key that claims to come from the victim."""
        before = await asyncio.to_thread(self._refusals)
        forged = VerificationRequested(
            uuid.uuid4().hex,
            self.victim,
            "000000000000",
            "X",
            "2000-01-01",
            "public-service-dossier",
            "",
            0,
        )
        producer = self.transport.producer(f"{self.agency}.rogue")
        await producer.start()
        try:
            await producer.send_and_wait(VERIFY.name, self.codec.encode(forged), key=b"rogue")
        finally:
            await producer.stop()
        deadline = time.monotonic() + REFUSAL_WITHIN_S
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self._refusals) > before:
                return RogueAttempt(
                    action="impersonate",
                    denied=True,
                    result=f"refused by the registry (claimed {self.victim})",
                )
            await asyncio.sleep(0.5)
        return RogueAttempt(
            action="impersonate", denied=False, result="no refusal counted by the registry"
        )


def _sample(port: int, name: str, labels: dict[str, str]) -> float:
    """A counter's value on one service's /metrics; 0 when it cannot be read."""
    try:
        text = scrape(port)
    except OSError:
        return 0.0
    return sum(
        float(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )
