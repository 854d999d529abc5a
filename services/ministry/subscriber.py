"""A subscribing ministry takes in the registry's change events; each delivery is a transaction."""

from __future__ import annotations

from services.shared.audit import audit
from services.shared.messages import CitizenChanged
from services.shared.runtime import Outgoing

PROVIDER = "registry"
PURPOSE = "event-carried-state-transfer"


def group_of(ministry: str) -> str:
    """Each subscriber reads every change, so each has a consumer group of its own."""
    return f"ndx.changes.{ministry}"


async def handle_change(change: CitizenChanged, ministry: str, audit_key: bytes) -> list[Outgoing]:
    """Leave the subscriber's audit record of the delivery (counted in tally.py once committed)."""
    return [
        audit(audit_key, f"{change.event_id}>{ministry}", ministry, PROVIDER, "change", PURPOSE,
              change.change, change.citizen_id, change.changed_at_us, change.changed_at_us)
    ]  # fmt: skip
