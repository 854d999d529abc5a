"""SIGTERM stops the bench as Ctrl-C does, and nothing it started outlives it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

import psutil

T = TypeVar("T")
GRACE_S = 10.0  # a process left over gets this long after SIGTERM before SIGKILL


class Terminated(Exception):
    """The bench was sent SIGTERM; what it started has been stopped."""


def stop_descendants(grace_s: float = GRACE_S) -> list[int]:
    """SIGTERM every process this one started (at any depth), SIGKILL those still there after
    grace_s; the pids it had to stop. A last resort behind each part's own stop."""
    left = psutil.Process().children(recursive=True)
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(left, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    return [proc.pid for proc in left]


async def until_terminated(main: Coroutine[Any, Any, T]) -> T:
    """Run main; SIGTERM cancels it as Ctrl-C does, so its finally blocks stop the broker and the
    services, then raises Terminated. Whatever it leaves running on any failure is stopped."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main)
    signalled: list[int] = []

    def terminate() -> None:
        signalled.append(signal.SIGTERM)
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        return await task
    except asyncio.CancelledError:
        if signalled:
            raise Terminated("terminated by SIGTERM") from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        if not task.done() or task.cancelled() or task.exception() is not None:
            # Kafka's tools run in threads the loop waits for at its end: they must not linger
            stop_descendants()
