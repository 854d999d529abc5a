"""How broker-tier tests wait: a condition polled until it holds or its deadline passes, never a
fixed sleep that is either too short on a busy machine or wasted on an idle one.

`wait_for` blocks (plain tests, or `asyncio.to_thread` from a coroutine); `wait_for_async` is
the same wait on the event loop, for conditions that are coroutines or that must not leave it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

POLL_S = 0.1

Condition = Callable[[], object]
AsyncCondition = Callable[[], object | Awaitable[object]]


class Deadline:
    """The seconds a wait may take; fails the test naming what did not happen in time."""

    def __init__(self, timeout: float, what: str) -> None:
        self.began = time.monotonic()
        self.timeout, self.what = timeout, what

    @property
    def waited(self) -> float:
        return time.monotonic() - self.began

    def check(self) -> None:
        if self.waited > self.timeout:
            raise AssertionError(f"{self.what}: not within {self.timeout:g}s")


def wait_for(
    condition: Condition, timeout: float, what: str = "condition", every: float = POLL_S
) -> float:
    """Poll `condition` until it is truthy; the seconds it took. AssertionError after `timeout`."""
    deadline = Deadline(timeout, what)
    while not condition():
        deadline.check()
        time.sleep(every)
    return deadline.waited


async def wait_for_async(
    condition: AsyncCondition, timeout_s: float, what: str = "condition", every: float = POLL_S
) -> float:
    """`wait_for` on the event loop: `condition` may return an awaitable (an async predicate)."""
    deadline = Deadline(timeout_s, what)
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return deadline.waited
        deadline.check()
        await asyncio.sleep(every)
