"""The transport interface that both the Kafka client and its in-memory twin implement."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from services.wire import TopicSpec

Headers = Sequence[tuple[str, bytes]]


class Record(Protocol):
    """What a consumer hands over: aiokafka's ConsumerRecord has exactly these attributes."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...
    @property
    def timestamp(self) -> int:
        """Milliseconds since the epoch: the broker's append time on LogAppendTime topics."""
        ...


class TransportError(RuntimeError):
    """The platform refused or lacks something the service needs; the message says what."""


class RecordTooLarge(TransportError):
    """The platform refuses a record above its size limit."""


class BrokerUnreachable(TransportError):
    """Raised within seconds when no broker answers at the configured address."""


class NotAuthorized(TransportError):
    """The cluster refused this principal: its ACLs grant no such operation on the resource."""


class Producer(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def send(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        """Queue a record; the returned future resolves once the broker has it durably."""
        ...

    async def send_and_wait(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> None:
        """Send one record and wait until it is durable; a refusal raises NotAuthorized, any
        other failure TransportError."""
        ...

    async def flush(self) -> None: ...


class Consumer(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def getmany(self, timeout_ms: int, max_records: int) -> list[Record]: ...
    async def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> bool:
        """Commit what was read, or the next offsets given by (topic, partition); False when
        a rebalance took the partitions first (their new owner reads the records again)."""
        ...

    def before_revoke(self, drain: Callable[[], Awaitable[None]]) -> None:
        """Have a rebalance await `drain` (bounded) before this consumer's partitions move."""
        ...

    def lag(self) -> dict[str, int]:
        """Records not yet consumed, by topic, as far as this consumer knows."""
        ...

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    async def rewind(self) -> None:
        """Go back to the last committed position of every owned partition, to read it again."""
        ...

    async def at_end(self) -> bool:
        """True when every owned partition has been read up to its end offset."""
        ...

    def assigned(self) -> bool:
        """True once the consumer owns partitions (a group consumer after its first join)."""
        ...


class Transport(Protocol):
    def producer(self, client_id: str) -> Producer: ...
    def consumer(
        self,
        topics: Sequence[str],
        client_id: str,
        group_id: str | None = None,
        from_beginning: bool = False,
    ) -> Consumer:
        """A consumer in a group (committed offsets), or with no group reading every partition."""
        ...

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> None: ...
    async def close(self) -> None: ...
