"""Fault directives of a scenario, carried out while it plays, each with its recovery time."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from loadtests.engine.rogue import Rogue
from loadtests.report import FaultRecord, RogueAttempt
from loadtests.scenario import (
    Fault,
    KillBroker,
    KillRegistry,
    Poison,
    RestartBroker,
    RogueAgency,
    Scenario,
    SchemaRoll,
    SlowAgency,
    StopRegistry,
)
from loadtests.stack import RunStack
from services.kafka import Transport
from services.wire import VERIFY, Catalogue, Codec

if TYPE_CHECKING:
    from loadtests.workers import Coordinator


class FaultRunner:
    """Starts each fault at its time in its period; the log says what happened and how long."""

    def __init__(self, scenario: Scenario, stack: RunStack, transport: Transport) -> None:
        self.scenario, self.stack, self.transport = scenario, stack, transport
        self.log: list[FaultRecord] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.coordinator: Coordinator | None = None

    def period_started(self, period: str) -> None:
        first = self.scenario.periods[0].name
        for fault in self.scenario.faults:
            if (fault.period or first) == period:
                self._tasks.append(asyncio.create_task(self._run(fault, period)))

    async def finish(self) -> None:
        await asyncio.gather(*self._tasks)

    async def _run(self, fault: Fault, period: str) -> None:
        await asyncio.sleep(fault.at_s)
        started = time.monotonic()
        record = FaultRecord(action=fault.action, period=period, at_s=fault.at_s, recovered_s=0.0)
        await self._act(fault, record)
        record.recovered_s = round(time.monotonic() - started, 2)
        self.log.append(record)

    async def _act(self, fault: Fault, record: FaultRecord) -> None:
        """Carry the fault out, noting on its record what it did."""
        await _ACTS[type(fault)](self, fault, record)

    async def _registry_down(self, fault: KillRegistry | StopRegistry, record: FaultRecord) -> None:
        name = f"registry-{fault.instance}"
        kill = isinstance(fault, KillRegistry)
        await asyncio.to_thread(self.stack.restart_service, name, kill, fault.down_s)
        record.instance = name

    async def _broker_down(self, fault: KillBroker | RestartBroker, record: FaultRecord) -> None:
        kill = isinstance(fault, KillBroker)
        record.outage = await asyncio.to_thread(
            self.stack.restart_broker, fault.down_s, fault.node, kill
        )
        record.node = fault.node

    async def _slow_agency(self, fault: SlowAgency, record: FaultRecord) -> None:
        assert self.coordinator is not None
        await self.coordinator.pause_agency(fault.agency)  # the worker playing it pauses it
        await asyncio.sleep(fault.for_s)
        await self.coordinator.resume_agency(fault.agency)
        record.agency, record.for_s = fault.agency, fault.for_s

    async def _rogue_agency(self, fault: RogueAgency, record: FaultRecord) -> None:
        record.agency, record.victim = fault.agency, fault.victim
        record.attempts = await self._rogue(fault.agency, fault.victim)

    async def _poison_fault(self, fault: Poison, record: FaultRecord) -> None:
        await self._poison(fault.count)
        record.count, record.topic = fault.count, VERIFY.name

    async def _schema_roll(self, fault: SchemaRoll, record: FaultRecord) -> None:
        record.writer_version = fault.writer_version
        record.rolled = await self._roll_schema(fault.writer_version)

    async def _roll_schema(self, writer_version: int) -> list[str]:
        """Restart every registry instance writing VerificationAnswered at `writer_version`."""
        pins = {"NDX_SCHEMA_PINS": f"VerificationAnswered={writer_version}"}
        rolled = []
        for svc in [s for s in self.stack.services if s.name.startswith("registry-")]:
            await asyncio.to_thread(self.stack.restart_service, svc.name, False, 0.0, pins)
            rolled.append(svc.name)
        return rolled

    async def _rogue(self, agency: str, victim: str) -> list[RogueAttempt]:
        """Forbidden attempts on a secured run; each one denied keeps the run's ledger intact."""
        rogue = Rogue(
            agency,
            victim,
            self.stack.bootstrap or "",
            self.stack.security(agency),
            Codec(Catalogue()),
            self.stack.ports("registry"),
        )
        return await rogue.attempt_all()

    async def _poison(self, count: int) -> None:
        producer = self.transport.producer("fault.poison")
        await producer.start()
        try:
            sends = [
                await producer.send(VERIFY.name, os.urandom(16 + i % 48)) for i in range(count)
            ]
            await asyncio.gather(*sends)
        finally:
            await producer.stop()


_Act = Callable[[FaultRunner, Any, FaultRecord], Awaitable[None]]
_ACTS: dict[type[Fault], _Act] = {  # each action's model to what carries it out
    KillRegistry: FaultRunner._registry_down,
    StopRegistry: FaultRunner._registry_down,
    KillBroker: FaultRunner._broker_down,
    RestartBroker: FaultRunner._broker_down,
    SlowAgency: FaultRunner._slow_agency,
    RogueAgency: FaultRunner._rogue_agency,
    Poison: FaultRunner._poison_fault,
    SchemaRoll: FaultRunner._schema_roll,
}
