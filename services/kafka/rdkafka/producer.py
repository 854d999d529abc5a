"""A librdkafka producer behind the Producer protocol: signed, idempotent records whose
delivery reports reach the event loop in batches, through the process's one hand-over."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka import Producer as RdProducer

from services.kafka.client import ClientTuning
from services.kafka.rdkafka.common import (
    ABANDON_S,
    IDLE_S,
    POLL_S,
    STALE,
    Delivered,
    client_config,
    failure,
    first_contact,
    handover,
    log,
)
from services.kafka.transport import (
    Headers,
    TransportError,
)
from services.security import ClientSecurity, signature, unsigned
from services.wire import MAX_REQUEST_BYTES


class _Pump:
    """One librdkafka producer and its poller thread: delivery reports reach the loop in
    batches, and a fatal error marks the producer for renewal."""

    def __init__(self, config: dict[str, Any], on_fatal: Callable[[], None]) -> None:
        self.door = handover()
        self.on_fatal = on_fatal
        self.producer = RdProducer({**config, "error_cb": self._error})
        self._reports: list[tuple[asyncio.Future[Any], KafkaError | None, Message]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wanted = threading.Event()  # set by a send (and by close) for an idle poller
        self._thread = threading.Thread(target=self._run, name="rdkafka-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _error(self, err: KafkaError) -> None:
        if err.fatal():
            log.error("producer failed for good: %s", err.str())
            self.door.put(self.on_fatal)
        else:
            log.debug("producer: %s", err.str())

    def reporter(self, future: asyncio.Future[Any]) -> Callable[[KafkaError | None, Message], None]:
        def report(err: KafkaError | None, msg: Message) -> None:
            with self._lock:
                self._reports.append((future, err, msg))

        return report

    def hand_over(self) -> None:
        with self._lock:
            batch, self._reports = self._reports, []
        if batch:
            self.door.put(self._settle, batch)

    def _settle(self, batch: list[tuple[asyncio.Future[Any], KafkaError | None, Message]]) -> None:
        for future, err, msg in batch:
            if future.done():
                continue
            if err is None:
                future.set_result(
                    Delivered(
                        msg.topic() or "",
                        msg.partition() or 0,
                        msg.offset() or 0,
                        msg.timestamp()[1],
                    )
                )
                continue
            if err.fatal() or err.code() in STALE:
                self.on_fatal()
            future.set_exception(failure(err, f"writing {msg.topic()}"))

    def wanted(self) -> None:
        """A record was handed to librdkafka: its report is awaited."""
        if not self._wanted.is_set():
            self._wanted.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wanted.clear()
            if len(self.producer) == 0:  # nothing awaits a report: sleep until a send or close
                if not self._wanted.wait(IDLE_S):
                    self.producer.poll(0)  # librdkafka's errors and log lines, now and then
                continue
            self.producer.poll(POLL_S)
            self.hand_over()

    def close(self, limit_s: float) -> None:
        """Blocking: deliver what it can within `limit_s`, fail the rest, end the thread."""
        with contextlib.suppress(Exception):
            self.producer.flush(limit_s)
        self._stop.set()
        self._wanted.set()
        self._thread.join()
        with contextlib.suppress(Exception):
            self.producer.purge()
            self.producer.poll(0)  # the purged records' reports: their futures fail
        self.hand_over()
        with contextlib.suppress(Exception):
            self.producer.close()


class NativeProducer:
    """Durable, signed, renewed when librdkafka reports a fatal error (the idempotent
    producer's sequence lost for good)."""

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
        self._pump: _Pump | None = None
        self._stale = True
        self._renewing = asyncio.Lock()
        self._abandoned: set[asyncio.Task[None]] = set()

    def _config(self) -> dict[str, Any]:
        t = self.tuning
        return {
            **client_config(self.bootstrap, self.client_id, t, self.security),
            "acks": "all" if t.acks == "all" else t.acks,
            "enable.idempotence": t.acks == "all",
            "linger.ms": t.linger_ms,
            "batch.size": min(t.batch_size, MAX_REQUEST_BYTES),
            "compression.type": t.compression,
            "message.max.bytes": MAX_REQUEST_BYTES,
            "request.timeout.ms": int(self.connect_timeout * 1000),
        }

    async def start(self) -> None:
        self._stale = True
        pump = _Pump(self._config(), self._mark_stale)
        pump.start()
        self._pump = pump
        try:
            await first_contact(pump.producer, self.bootstrap, self.connect_timeout)
        except BaseException:
            self._abandon(pump)
            raise
        self._stale = False

    def _mark_stale(self) -> None:
        self._stale = True

    def _abandon(self, pump: _Pump) -> None:
        task = asyncio.create_task(asyncio.to_thread(pump.close, ABANDON_S), name="abandon")
        self._abandoned.add(task)
        task.add_done_callback(self._abandoned.discard)

    async def _renew(self) -> None:
        async with self._renewing:
            if not self._stale:
                return
            log.warning("%s: producer unusable; starting a new one", self.client_id)
            if self._pump is not None:
                self._abandon(self._pump)
            await self.start()

    async def stop(self) -> None:
        if self._pump is not None:
            await asyncio.to_thread(self._pump.close, self.connect_timeout)
            self._pump = None
        if self._abandoned:
            await asyncio.wait(self._abandoned, timeout=2 * ABANDON_S)

    async def send(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> asyncio.Future[Any]:
        """A refused record fails its delivery, not the send."""
        if self._stale or self._pump is None:
            await self._renew()
        assert self._pump is not None
        if self.security is not None and self.security.signing_key is not None:
            key_hex = self.security.signing_key.get_secret_value()
            sig = signature(self.security.principal, key_hex, topic, key, value)
            headers = [*unsigned(headers), *sig]
        pump = self._pump
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        while True:
            try:
                pump.producer.produce(
                    topic,
                    value,
                    key,
                    on_delivery=pump.reporter(delivery),
                    headers=list(headers) or None,
                )
                pump.wanted()
                return delivery
            except BufferError:  # librdkafka's queue is full: its poller is emptying it
                await asyncio.sleep(0.005)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, KafkaError):
                    delivery.set_exception(failure(err, f"writing {topic}"))
                else:
                    delivery.set_exception(TransportError(f"writing {topic}: {exc}"))
                return delivery

    async def send_and_wait(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> None:
        """Send one record and wait until the cluster has it."""
        await (await self.send(topic, value, key, headers))

    async def flush(self) -> None:
        if self._pump is not None:
            pump = self._pump
            await asyncio.to_thread(pump.producer.flush)
            pump.hand_over()
