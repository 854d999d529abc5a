"""Background tasks end the same way everywhere: cancelled, then awaited so nothing dangles."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

__all__ = ["cancel"]


async def cancel(tasks: Iterable[asyncio.Task[object] | None]) -> None:
    """Cancel every task given (None stands for one never started) and wait until each ends."""
    started = [task for task in tasks if task is not None]
    for task in started:
        task.cancel()
    for task in started:
        with contextlib.suppress(asyncio.CancelledError):
            await task
