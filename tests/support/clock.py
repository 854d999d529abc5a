"""A clock for unit tests: virtual seconds that move only when the test moves them, so code that
waits on its clock is tested without waiting and in the same order every run."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable

__all__ = ["FakeClock"]

SETTLE_ROUNDS = 8  # event-loop turns given to the woken before time moves on
POLL_S = 0.001  # real pause while nothing sleeps on the clock yet


class FakeClock:
    """Implements the service clock (now, sleep) on virtual time. `advance` moves it forward,
    waking each sleeper at its due time in order; `advance_until` moves it from one sleeper's
    due time to the next until a condition holds."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self._now + seconds, self._seq, woken))
        await woken

    @property
    def sleeping(self) -> int:
        """Sleepers not yet woken (nor cancelled)."""
        return sum(1 for _due, _seq, f in self._sleepers if not f.done())

    def next_due(self) -> float | None:
        """When the next sleeper wakes; None when nobody sleeps."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def advance(self, seconds: float) -> None:
        """Move `seconds` forward, waking sleepers in due order; the woken run before time
        moves on, and what they sleep anew within the span wakes within it too."""
        end = self._now + seconds
        while (due := self.next_due()) is not None and due <= end:
            await self._jump(due)
        self._now = max(self._now, end)
        await _settle()

    async def run_for(self, seconds: float, real_limit_s: float = 10.0) -> None:
        """Let `seconds` pass for code that keeps waiting on this clock: time jumps to the next
        sleeper's due time only once someone sleeps, so none of its waits is skipped."""
        end = self._now + seconds
        deadline = time.monotonic() + real_limit_s
        while True:
            while self.next_due() is None:
                if time.monotonic() > deadline:
                    raise AssertionError(f"nothing slept on the clock within {real_limit_s:g}s")
                await asyncio.sleep(POLL_S)
            due = self.next_due()
            assert due is not None
            if due > end:
                self._now = end
                return
            await self._jump(due)

    async def advance_until(
        self, condition: Callable[[], object], limit_s: float = 60.0, real_limit_s: float = 10.0
    ) -> None:
        """Move from one sleeper's due time to the next until `condition` holds; AssertionError
        when it does not within `limit_s` of virtual time or `real_limit_s` of real time."""
        end = self._now + limit_s
        deadline = time.monotonic() + real_limit_s
        while not condition():
            if time.monotonic() > deadline or self._now > end:
                raise AssertionError("condition not met in time")
            due = self.next_due()
            if due is not None:
                await self._jump(due)
            else:
                await asyncio.sleep(POLL_S)

    async def _jump(self, due: float) -> None:
        self._now = max(self._now, due)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _due, _seq, woken = heapq.heappop(self._sleepers)
            if not woken.done():
                woken.set_result(None)
        await _settle()


async def _settle() -> None:
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(0)
