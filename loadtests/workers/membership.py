"""Which workers Kafka's group coordinator still counts as members of the run's group: a worker
that stops heartbeating is dropped after its session timeout, and that is how a dead worker on
any machine is found (no failure detector of our own)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.kafka import GroupDescriber, GroupView
from services.process import cancel
from services.security import ClientSecurity

__all__ = ["Membership"]

log = logging.getLogger("ndx.coordinator")
DESCRIBE_EVERY_S = 1.0


class Membership:
    """Describes the group every second; `gone(client)` once a member it saw has left."""

    def __init__(
        self, bootstrap: str, security: ClientSecurity | None, group: str, connect_s: float
    ) -> None:
        self.group = group
        self.groups = GroupDescriber(bootstrap, security, "ndxsim.members", connect_s)
        self.view: GroupView | None = None  # None while the cluster cannot be asked
        self.seen: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.groups.start()
        self._task = asyncio.create_task(self._watch(), name="membership")

    async def stop(self) -> None:
        await cancel([self._task])
        with contextlib.suppress(Exception):
            await self.groups.stop()

    def gone(self, client: str) -> bool:
        """Seen in the group before, absent from its latest description."""
        view = self.view
        return view is not None and client in self.seen and client not in view.clients

    async def _watch(self) -> None:
        while True:
            try:
                self.view = await self.groups.describe(self.group)
            except Exception as exc:  # any failure to ask is an outage, not a departure
                log.debug("cannot describe group %s: %s", self.group, exc)
                self.view = None  # an outage is nobody's departure
            if self.view is not None:
                self.seen |= self.view.clients
            await asyncio.sleep(DESCRIBE_EVERY_S)
