"""One way every process runs its event loop: uvloop when installed, asyncio's own otherwise."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["loop_factory", "run"]

T = TypeVar("T")
GC_YOUNG = 20_000  # allocations between young collections (Python's default: 700)
# How long a thread holding the GIL keeps a waiting one out (Python's default: 5 ms). A process
# of librdkafka clients runs a poller thread per client beside its loop; at 5 ms the loop waited
# behind them and a national run's sends left late (2.1% at 5 ms, 1.0% at 0.2 ms).
SWITCH_INTERVAL_S = 0.0002


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop (its socket writes and callbacks are C), unless NDX_UVLOOP=false."""
    if os.environ.get("NDX_UVLOOP", "true").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the chosen loop; the collector's youngest generation runs less often, as
    a broker client allocates many short-lived objects per record, and the loop's thread gets
    the GIL back from client threads sooner."""
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
