"""Which workers Kafka's group coordinator still counts as members of the run's group: a worker
that stops heartbeating is dropped after its session timeout, and that is how a dead worker on
any machine is found (no failure detector of our own)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from pydantic import BaseModel

from services.kafka.client import connect_within, sasl_options
from services.process.background import cancel
from services.security.credentials import ClientSecurity

__all__ = ["GroupView", "Membership", "group_view"]

log = logging.getLogger("ndx.coordinator")
DESCRIBE_EVERY_S = 1.0


@dataclass(frozen=True)
class GroupView:
    """One DescribeGroups answer: the group's state and the client ids of its members."""

    state: str
    clients: frozenset[str]


class _Member(BaseModel):
    client_id: str = ""


class _Group(BaseModel):
    group: str = ""
    error_code: int = 0
    state: str = ""
    members: list[_Member] = []


class _Described(BaseModel):
    """The fields read of a DescribeGroups response; the rest of it is ignored."""

    groups: list[_Group] = []


def group_view(described: Mapping[str, object], group: str) -> GroupView | None:
    """The group's view from a DescribeGroups response as a plain object; None when the
    coordinator answered with an error for it. `described` is aiokafka's `to_object()` of the
    response, raw protocol data: it is validated here, where it enters."""
    for g in _Described.model_validate(described).groups:
        if g.group == group and not g.error_code:
            return GroupView(g.state, frozenset(m.client_id for m in g.members))
    return None


class Membership:
    """Describes the group every second; `gone(client)` once a member it saw has left."""

    def __init__(
        self, bootstrap: str, security: ClientSecurity | None, group: str, connect_s: float
    ) -> None:
        self.bootstrap, self.group, self.connect_s = bootstrap, group, connect_s
        self.admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="ndxsim.members", **sasl_options(security)
        )
        self.view: GroupView | None = None  # None while the cluster cannot be asked
        self.seen: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await connect_within(self.admin.start, self.bootstrap, self.connect_s)
        self._task = asyncio.create_task(self._watch(), name="membership")

    async def stop(self) -> None:
        await cancel([self._task])
        with contextlib.suppress(Exception):
            await self.admin.close()

    def gone(self, client: str) -> bool:
        """Seen in the group before, absent from its latest description."""
        view = self.view
        return view is not None and client in self.seen and client not in view.clients

    async def _watch(self) -> None:
        while True:
            try:
                answers = await self.admin.describe_consumer_groups([self.group])
                views = [group_view(a.to_object(), self.group) for a in answers]
                self.view = next((v for v in views if v is not None), None)
            except Exception as exc:  # any failure to ask is an outage, not a departure
                log.debug("cannot describe group %s: %s", self.group, exc)
                self.view = None  # an outage is nobody's departure
            if self.view is not None:
                self.seen |= self.view.clients
            await asyncio.sleep(DESCRIBE_EVERY_S)
