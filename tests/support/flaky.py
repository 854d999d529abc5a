"""Transport stand-ins for unit tests: a producer whose broker can go away, a failing commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from services.kafka.transport import Consumer, Headers, Producer, Record, TransportError


class GatedProducer:
    """Passes records to the twin's producer, or refuses every one while `down` (broker away)."""

    def __init__(self, inner: Producer) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def flush(self) -> None:
        await self.inner.flush()

    async def send(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        if not self.down:
            return await self.inner.send(topic, value, key, headers)
        self.refused += 1
        failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        failed.set_exception(TransportError("no broker answers"))
        return failed


class FailingCommits:
    """The twin's consumer, except that its next `failures` commits raise."""

    def __init__(self, inner: Consumer, failures: int) -> None:
        self.inner, self.failures = inner, failures

    async def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> bool:
        if self.failures > 0:
            self.failures -= 1
            raise TransportError("commit not acknowledged")
        return await self.inner.commit(offsets)

    def before_revoke(self, drain: Callable[[], Awaitable[None]]) -> None:
        self.inner.before_revoke(drain)

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def getmany(self, timeout_ms: int, max_records: int) -> list[Record]:
        return await self.inner.getmany(timeout_ms, max_records)

    def lag(self) -> dict[str, int]:
        return self.inner.lag()

    def pause(self) -> None:
        self.inner.pause()

    def resume(self) -> None:
        self.inner.resume()

    async def rewind(self) -> None:
        await self.inner.rewind()

    async def at_end(self) -> bool:
        return await self.inner.at_end()

    def assigned(self) -> bool:
        return self.inner.assigned()
