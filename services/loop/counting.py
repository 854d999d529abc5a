"""What a record leaves behind once durable or committed: outputs remembered so a request read
again is repeated, and each record counted once."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from services.loop.decide import Decider, Tally
from services.loop.handled import Deduplicator, Handled
from services.process import metrics

__all__ = ["count", "remember"]

log = logging.getLogger("ndx.runtime")


def remember(decider: Decider, handled: Sequence[Handled]) -> None:
    """Durable outputs are repeated, not decided again, if their request comes back."""
    for one in handled:
        if one.key and not one.duplicate and not one.dead:
            decider.dedup.put(one.key, one.outs)
            decider.fresh.pop(one.key, None)


def count(service: str, dedup: Deduplicator, tally: Tally, handled: Sequence[Handled]) -> None:
    """After the commit: dead letters, duplicates and each fresh record's tally, once."""
    for one in handled:
        rec = one.rec
        if one.dead:
            metrics.DEAD_LETTERS.labels(service, one.dead).inc()
            if one.denied is not None:
                metrics.DENIED.labels(*one.denied).inc()
            log.warning(
                "%s: dead-lettered %s[%d]@%d: %s",
                service,
                rec.topic,
                rec.partition,
                rec.offset,
                one.dead,
            )
            continue
        seen = dedup.get(one.key) if one.key else None
        if one.duplicate and (seen is None or seen.counted):
            metrics.DUPLICATE_REQUESTS.labels(service).inc()
            continue
        if one.message is not None:  # a first time, or its first count
            tally(one.message, one.outs, one.seconds)
        if one.key:
            dedup.put(one.key, one.outs)
            dedup.counted(one.key)
