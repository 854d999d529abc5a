"""Fault directives of a scenario, carried out while it plays, each with its recovery time."""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from loadtests.reportmodel import FaultRecord
from loadtests.rogue import Rogue
from loadtests.scenario import Scenario
from loadtests.scenarioparts import Fault
from loadtests.stack import RunStack
from services.shared.codec import Catalogue, Codec
from services.shared.topics import VERIFY
from services.shared.transport import Transport

if TYPE_CHECKING:
    from loadtests.coordinator import Coordinator


class FaultRunner:
    """Starts each fault at its time in its period; the log says what happened and how long."""

    def __init__(self, scenario: Scenario, stack: RunStack, transport: Transport) -> None:
        self.scenario, self.stack, self.transport = scenario, stack, transport
        self.log: list[FaultRecord] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.driver: Coordinator | None = None

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
        detail = await self._act(fault)
        recovered = round(time.monotonic() - started, 2)
        self.log.append(
            FaultRecord(
                action=fault.action, period=period, at_s=fault.at_s, recovered_s=recovered, **detail
            )
        )

    async def _act(self, fault: Fault) -> dict[str, Any]:
        name = f"registry-{fault.instance}"
        if fault.action in ("kill_registry", "stop_registry"):
            kill = fault.action == "kill_registry"
            await asyncio.to_thread(self.stack.restart_service, name, kill, fault.down_s)
            return {"instance": name}
        if fault.action in ("restart_broker", "kill_broker"):
            kill = fault.action == "kill_broker"
            outage = await asyncio.to_thread(
                self.stack.restart_broker, fault.down_s, fault.node, kill
            )
            return {"outage": outage, "node": fault.node}
        if fault.action == "slow_agency":
            assert self.driver is not None and fault.agency is not None
            await self.driver.pause_agency(fault.agency)  # the worker playing it pauses it
            await asyncio.sleep(fault.for_s)
            await self.driver.resume_agency(fault.agency)
            return {"agency": fault.agency, "for_s": fault.for_s}
        if fault.action == "rogue_agency":
            assert fault.agency is not None and fault.victim is not None
            return await self._rogue(fault.agency, fault.victim)
        if fault.action == "poison":
            await self._poison(fault.count)
            return {"count": fault.count, "topic": VERIFY.name}
        pins = {"NDX_SCHEMA_PINS": f"VerificationAnswered={fault.writer_version}"}
        rolled = []
        for svc in [s for s in self.stack.services if s.name.startswith("registry-")]:
            await asyncio.to_thread(self.stack.restart_service, svc.name, False, 0.0, pins)
            rolled.append(svc.name)
        return {"writer_version": fault.writer_version, "rolled": rolled}

    async def _rogue(self, agency: str, victim: str) -> dict[str, Any]:
        """Forbidden attempts on a secured run; each one denied keeps the run's ledger intact."""
        rogue = Rogue(
            agency,
            victim,
            self.stack.bootstrap or "",
            self.stack.security(agency),
            Codec(Catalogue()),
            self.stack.ports("registry"),
        )
        return {"agency": agency, "victim": victim, "attempts": await rogue.attempt_all()}

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
