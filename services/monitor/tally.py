"""What the monitor counts for a record once its batch is committed: dossiers and audit records."""

from __future__ import annotations

from services.loop import Outgoing
from services.process import metrics
from services.wire import DossierSubmitted, Message, SharingAudited


def tally(message: Message, outs: list[Outgoing], seconds: float) -> None:
    if isinstance(message, DossierSubmitted):
        metrics.DOSSIERS.labels(message.province, message.service_code, message.channel).inc()
    elif isinstance(message, SharingAudited):
        metrics.AUDIT_RECORDS.labels(message.flow).inc()
