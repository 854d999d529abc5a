"""A subscribing ministry takes in the registry's change events; each delivery is a transaction.

The registry audits the change once, when it publishes it; a delivery writes nothing back, so a
ministry needs no right to the audit stream (the ACL table grants it none).
"""

from __future__ import annotations

from services.loop import Outgoing
from services.ministry.replica import CitizenReplica
from services.wire import CitizenChanged


async def handle_change(change: CitizenChanged, replica: CitizenReplica | None) -> list[Outgoing]:
    """Keep the ministry's replica current (counted in tally.py once committed)."""
    if replica is not None:
        replica.apply(change)
    return []
