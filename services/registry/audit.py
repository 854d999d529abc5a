"""Audit records: who shared what about whom, why and with what result, without the citizen id."""

from __future__ import annotations

from services.loop import Outgoing
from services.wire import AUDIT, SharingAudited
from services.world import citizen_ref


def audit(
    key: bytes,
    request_id: str,
    requester: str,
    provider: str,
    flow: str,
    purpose: str,
    outcome: str,
    citizen_id: str,
    requested_at_us: int,
    answered_at_us: int,
) -> Outgoing:
    """One SharingAudited record, keyed by requester so each agency's trail stays in order."""
    record = SharingAudited(
        request_id=request_id,
        requester=requester,
        provider=provider,
        flow=flow,
        purpose=purpose,
        outcome=outcome,
        citizen_ref=citizen_ref(citizen_id, key),
        requested_at_us=requested_at_us,
        answered_at_us=answered_at_us,
    )
    return Outgoing(AUDIT.name, record, requester.encode(), repeat=False)
