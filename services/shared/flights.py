"""Batches whose outputs are on their way: the loop reads on while they become durable."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.shared.handled import Handled
from services.shared.transport import Record


@dataclass(slots=True)
class Flight:
    """One batch handled and sent: durable once every delivery resolved without error."""

    records: Sequence[Record]
    handled: list[Handled]
    deliveries: list[asyncio.Future[Any]] = field(default_factory=list)

    def done(self) -> bool:
        return all(d.done() for d in self.deliveries)

    def error(self) -> BaseException | None:
        """The first failed delivery (once done); None when all are durable."""
        for d in self.deliveries:
            if d.cancelled():
                return asyncio.CancelledError()
            if (exc := d.exception()) is not None:
                return exc
        return None

    async def wait(self, limit_s: float) -> None:
        """Until every delivery settles, failed or not; an overdue one counts as failed."""
        if not self.deliveries:
            return
        _, late = await asyncio.wait(self.deliveries, timeout=limit_s)
        for d in late:
            d.cancel()

    def abandon(self) -> None:
        """Deliveries nobody will wait for again: their failures are not reported twice."""
        for d in self.deliveries:
            d.add_done_callback(lambda done: done.cancelled() or done.exception())


def next_offsets(flights: Iterable[Flight]) -> dict[tuple[str, int], int]:
    """The offsets to commit after these flights: one past the last record per partition."""
    out: dict[tuple[str, int], int] = {}
    for flight in flights:
        for rec in flight.records:
            tp = (rec.topic, rec.partition)
            out[tp] = max(out.get(tp, 0), rec.offset + 1)
    return out
