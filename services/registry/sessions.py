"""When a registry answers: it stands aside while a run it disagrees with is under way, and
ends its answering session when one begins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from services.process import metrics
from services.registry.control import RunWatch

__all__ = ["end_session", "stand_aside"]

log = logging.getLogger("ndx.registry")


async def stand_aside(watch: RunWatch, stop: asyncio.Event, name: str, mine: str) -> bool:
    """Wait while a run this registry disagrees with is under way; False once stopped."""
    while (other := watch.foreign()) is not None and not stop.is_set():
        metrics.READY.labels("registry").set(0)
        log.error(
            "%s: run %s is under way with population fingerprint %s, this registry's is %s "
            "(seed, topology, audit key): it stands aside until that run ends; start it "
            "with that run's NDX_RUN_CONFIG to join it",
            name,
            other.run_id,
            other.fingerprint,
            mine,
        )
        watch.changed.clear()
        await _first(watch.changed.wait(), stop.wait())
    return not stop.is_set()


async def end_session(watch: RunWatch, stop: asyncio.Event, session: asyncio.Event) -> None:
    """End the answering session once a foreign run begins or the service stops."""
    while not stop.is_set() and watch.foreign() is None:
        watch.changed.clear()
        await _first(watch.changed.wait(), stop.wait())
    session.set()


async def _first(*waits: Coroutine[Any, Any, object]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
