"""Keeps the registry's overlay in step with the compacted changes topic, from its beginning."""

from __future__ import annotations

import asyncio
import logging

from services.kafka import Consumer
from services.process import metrics
from services.registry.identity import registry_wrote
from services.registry.overlay import Overlay
from services.security import Verifier
from services.wire import CitizenChanged, Codec, CodecError

log = logging.getLogger("ndx.registry.changes")


class ChangeFollower:
    """Replays every change at start-up, then applies new ones as they arrive; with a verifier
    (a secured run) only changes the registry signed, anything else is skipped and counted."""

    def __init__(
        self, consumer: Consumer, codec: Codec, overlay: Overlay, verifier: Verifier | None = None
    ) -> None:
        self.consumer, self.codec, self.overlay = consumer, codec, overlay
        self.verifier = verifier
        self.applied = self.ignored = 0

    async def _read(self, timeout_ms: int) -> None:
        for rec in await self.consumer.getmany(timeout_ms=timeout_ms, max_records=5000):
            if self.verifier is not None and not registry_wrote(self.verifier, rec):
                self.ignored += 1
                metrics.DENIED.labels("unknown", "change").inc()
                log.warning(
                    "ignoring a change not signed by the registry at %s[%d]@%d",
                    rec.topic,
                    rec.partition,
                    rec.offset,
                )
                continue
            try:
                change = self.codec.decode(rec.value or b"")
            except CodecError as exc:
                log.warning(
                    "skipping unreadable change at %s[%d]@%d: %s",
                    rec.topic,
                    rec.partition,
                    rec.offset,
                    exc.reason,
                )
                continue
            if isinstance(change, CitizenChanged):
                self.overlay.apply(change)
                self.applied += 1

    async def catch_up(self) -> int:
        """Read to the end of the topic as it stands now; returns how many changes were applied."""
        while not await self.consumer.at_end():
            await self._read(200)
        return self.applied

    async def follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._read(200)
