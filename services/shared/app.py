"""Process entry plumbing shared by every service: logging, signals, one-line fatal errors."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from services.shared.settings import SettingsError
from services.shared.transport import TransportError

EXIT_INPUT_ERROR = 2


def setup_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiokafka").setLevel(logging.ERROR)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def run_service(name: str, main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Run until SIGTERM/SIGINT; known failures become one line on stderr and an exit code."""

    async def guarded() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await main(stop)

    try:
        asyncio.run(guarded())
    except TransportError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1
    except SettingsError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return 0
