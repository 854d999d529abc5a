"""The producer every service and agency sends through: durable, signed, renewed when stale."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
)

from services.kafka.client import (
    NOT_AUTHORIZED,
    RETRY_BACKOFF_MS,
    ClientTuning,
    client_errors,
    connect_within,
    log,
    sasl_options,
)
from services.kafka.transport import Headers, NotAuthorized, RecordTooLarge, TransportError
from services.security import ClientSecurity, signature, unsigned
from services.wire import MAX_REQUEST_BYTES

__all__ = ["KafkaProducer"]

ABANDON_S = 2.0
STALE_PRODUCER = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch)


class KafkaProducer:
    def __init__(
        self,
        bootstrap: str,
        client_id: str,
        tuning: ClientTuning,
        security: ClientSecurity | None = None,
    ) -> None:
        self.bootstrap, self.client_id, self.tuning = bootstrap, client_id, tuning
        self.connect_timeout = tuning.connect_timeout
        self.security = security
        self._p: AIOKafkaProducer
        self._stale = True  # until connected: a failed renewal is tried again at the next send
        self._renewing = asyncio.Lock()
        self._abandoned: set[asyncio.Task[None]] = set()
        self._sending: dict[AIOKafkaProducer, int] = {}  # sends under way, per producer
        self._quiet: dict[AIOKafkaProducer, asyncio.Event] = {}  # set when its last one ends

    async def start(self) -> None:
        # Built here, not in __init__, so a client that never starts leaves nothing to close.
        self._stale = True
        self._p = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            **self.tuning.producer_options(),
            max_request_size=MAX_REQUEST_BYTES,  # dead-letter copies are sized from it
            request_timeout_ms=int(self.connect_timeout * 1000),
            **sasl_options(self.security),
            retry_backoff_ms=RETRY_BACKOFF_MS,
        )
        try:
            await connect_within(self._p.start, self.bootstrap, self.connect_timeout)
        except BaseException:
            self._abandon(self._p)
            raise
        self._stale = False

    async def stop(self) -> None:
        await self._p.stop()
        if self._abandoned:
            await asyncio.wait(self._abandoned, timeout=self.connect_timeout + 2 * ABANDON_S)

    def _abandon(self, producer: AIOKafkaProducer) -> None:
        """Close a producer in the background: its queued batches may never leave, and nobody
        should wait for them."""
        task = asyncio.create_task(self._retire(producer), name="abandon-producer")
        self._abandoned.add(task)
        task.add_done_callback(self._abandoned.discard)

    async def _retire(self, producer: AIOKafkaProducer) -> None:
        """Close once no send is under way on it: a send waiting for metadata would otherwise
        wait forever on a client closed under it (it gives up by itself within the request
        timeout, the connect timeout here)."""
        if self._sending.get(producer):
            quiet = self._quiet.setdefault(producer, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(quiet.wait(), self.connect_timeout + ABANDON_S)
            self._quiet.pop(producer, None)
        await _close_within(producer, ABANDON_S)

    def _watch(self, delivery: asyncio.Future[Any]) -> None:
        """A delivery that fails for a reason other than Kafka's own errors means the sender
        ended (aiokafka fails every pending record then); after a broker restart an idempotent
        producer can also lose its sequence for good. Either way a new producer takes over."""
        if delivery.cancelled():
            return
        exc = delivery.exception()
        if isinstance(exc, TransportError):  # refused by the cluster: the producer is fine
            return
        if isinstance(exc, STALE_PRODUCER) or (exc is not None and not isinstance(exc, KafkaError)):
            self._stale = True

    async def _renew(self) -> None:
        async with self._renewing:  # concurrent senders share one renewal
            if not self._stale:
                return
            log.warning("%s: producer unusable; starting a new one", self.client_id)
            self._abandon(self._p)
            await self.start()

    async def send(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        if self._stale:
            await self._renew()
        if self.security is not None and self.security.signing_key is not None:
            key_hex = self.security.signing_key.get_secret_value()
            sig = signature(self.security.principal, key_hex, topic, key, value)
            headers = [*unsigned(headers), *sig]
        producer = self._p
        self._sending[producer] = self._sending.get(producer, 0) + 1
        try:
            delivery: asyncio.Future[Any] = await producer.send(
                topic, value, key=key, headers=list(headers) or None
            )
        except (MessageSizeTooLargeError, *NOT_AUTHORIZED) as exc:  # refusals fail the delivery
            delivery = asyncio.get_running_loop().create_future()
            error = RecordTooLarge if isinstance(exc, MessageSizeTooLargeError) else NotAuthorized
            delivery.set_exception(error(f"{self.client_id}: writing {topic}: {exc}"))
        finally:
            if left := self._sending[producer] - 1:
                self._sending[producer] = left
            else:
                del self._sending[producer]
                if (quiet := self._quiet.get(producer)) is not None:
                    quiet.set()
        delivery.add_done_callback(self._watch)
        return delivery

    async def send_and_wait(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> None:
        """Send one record and wait until the cluster has it, off the transactions' path: a
        refusal raises NotAuthorized, any other failure TransportError."""
        with client_errors(f"{self.client_id}: writing {topic}"):
            await (await self.send(topic, value, key, headers))

    async def flush(self) -> None:
        await self._p.flush()


async def _close_within(producer: AIOKafkaProducer, limit_s: float) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), limit_s)
