"""The e-government monitoring system's tallies: dossiers by province, service and channel."""

from __future__ import annotations

from services.shared import metrics
from services.shared.messages import DossierSubmitted, SharingAudited
from services.shared.runtime import Outgoing


async def handle_dossier(dossier: DossierSubmitted) -> list[Outgoing]:
    metrics.DOSSIERS.labels(dossier.province, dossier.service_code, dossier.channel).inc()
    return []


async def handle_audit(record: SharingAudited) -> list[Outgoing]:
    metrics.AUDIT_RECORDS.labels(record.flow).inc()
    return []
