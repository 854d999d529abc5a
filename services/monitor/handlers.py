"""The e-government monitoring system takes in dossiers and audit records; it writes nothing.

What it tallies is counted once each batch is committed (services/monitor/tally.py).
"""

from __future__ import annotations

from services.loop import Outgoing
from services.wire import DossierSubmitted, SharingAudited


async def handle_dossier(dossier: DossierSubmitted) -> list[Outgoing]:
    return []


async def handle_audit(record: SharingAudited) -> list[Outgoing]:
    return []
