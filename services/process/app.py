"""Process entry plumbing shared by every service: logging, signals, one-line fatal errors."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable

from services.config import InputFileError, SettingsError
from services.kafka import TransportError
from services.process import eventloop, lograte
from services.security import CredentialsError

EXIT_INPUT_ERROR = 2
EXIT_NOT_DRAINED = 3
DRAIN_LIMIT_S = 15.0
log = logging.getLogger("ndx.app")


def setup_logging(service: str, level: str = "INFO") -> None:
    """One stderr handler for every logger, aiokafka's included, with repeats rate-limited."""
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    for handler in logging.getLogger().handlers:
        if getattr(handler, "stream", None) is sys.stderr:  # ours, not a test's capture
            lograte.install(handler)


def _force_exit(name: str, why: str, code: int) -> None:
    print(f"{name}: {why}: exiting without draining", file=sys.stderr, flush=True)
    os._exit(code)


def stop_on_signals(
    stop: asyncio.Event, name: str = "service", drain_limit_s: float = DRAIN_LIMIT_S
) -> Callable[[], None]:
    """The first SIGTERM/SIGINT asks for a drain, bounded in time; a second one ends it at once.

    Returns the function that disarms the bound once the drain has finished.
    """
    loop = asyncio.get_running_loop()
    # A thread, so the bound holds even if the event loop is stuck.
    watchdog = threading.Timer(
        drain_limit_s,
        _force_exit,
        (name, f"not drained within {drain_limit_s:g}s", EXIT_NOT_DRAINED),
    )
    watchdog.daemon = True

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            _force_exit(name, f"second {sig.name}", 128 + sig.value)
        log.info("%s: %s received, draining", name, sig.name)
        stop.set()
        watchdog.start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    loop.add_signal_handler(signal.SIGUSR1, show_tasks, name)
    return watchdog.cancel


def show_tasks(name: str) -> None:
    """SIGUSR1: print what every task of the service waits on, to see why it does not move."""
    for task in asyncio.all_tasks():
        print(
            f"{name}: task {task.get_name()}: {' > '.join(_awaiting(task.get_coro()))}",
            file=sys.stderr,
        )
    sys.stderr.flush()


def _awaiting(coro: object) -> list[str]:
    """The chain of coroutines a task is suspended in, outermost first."""
    out: list[str] = []
    while coro is not None and len(out) < 40:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            out.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return out


def run_service(
    name: str,
    main: Callable[[asyncio.Event], Awaitable[None]],
    drain_limit_s: float = DRAIN_LIMIT_S,
) -> int:
    """Run until SIGTERM/SIGINT, then drain; known failures become one line and an exit code."""

    async def guarded() -> None:
        stop = asyncio.Event()
        disarm = stop_on_signals(stop, name, drain_limit_s)
        try:
            await main(stop)
        finally:
            disarm()

    try:
        eventloop.run(guarded())
    except TransportError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1
    except (SettingsError, InputFileError, CredentialsError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return 0
