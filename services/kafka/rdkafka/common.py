"""What every librdkafka client shares: its configuration and login, how it first connects,
how its errors and log lines become ours, and the one door through which every poller thread of
a process hands the event loop its work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer as RdConsumer
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as RdProducer

from services.kafka.admin import rdkafka_config, rdkafka_error
from services.kafka.client import RETRY_BACKOFF_MS, ClientTuning
from services.kafka.transport import (
    BrokerUnreachable,
    NotAuthorized,
    RecordTooLarge,
    TransportError,
)
from services.security import ClientSecurity

QUIET_S = 30.0  # one of librdkafka's lines, once said, is not said again for this long


class _Quieter(logging.Filter):
    """Passes each kind of librdkafka line (its facility and client) once per QUIET_S: a
    broker that is away gives a few lines, not one per reconnection attempt."""

    def __init__(self) -> None:
        super().__init__()
        self._said: dict[tuple[int, str], float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.levelno, " ".join(record.getMessage().split()[:2]))
        now = time.monotonic()
        with self._lock:
            if now - self._said.get(kind, -QUIET_S) < QUIET_S:
                return False
            self._said[kind] = now
        return True


log = logging.getLogger("ndx.kafka.rdkafka")  # librdkafka's own lines, which name no secret
log.addFilter(_Quieter())
POLL_S = 0.2  # a producer poller's longest block while reports are awaited
IDLE_S = 5.0  # a producer poller with no report awaited sleeps until a send, or this long
ABANDON_S = 2.0
REVOKE_WAIT_S = 10.0
# A consumer's poller also runs the loop's commits and seeks between two waits (no other thread
# may call the consumer meanwhile), so it waits at most this long for records.
CONSUMER_WAIT_S = 0.05
IDLE_AFTER_S = 2.0  # a consumer that fetched nothing and was asked nothing this long is idle...
IDLE_WAIT_S = 0.25  # ...and waits this long at a time: its loop's rare asks wait as long at most
FETCH_BATCH = 500  # records taken off librdkafka's queue at once
LAG_EVERY_S = 1.0
HIGH_WATER = 5000  # records fetched but not yet taken before the poller pauses fetching
STALE = {
    KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
    KafkaError.UNKNOWN_PRODUCER_ID,
    KafkaError.INVALID_PRODUCER_EPOCH,
    KafkaError._FATAL,
}
TOO_LARGE = {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE}
LOST_COMMIT = {
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError._ASSIGNMENT_LOST,
    KafkaError._STATE,
}


@dataclass(frozen=True, slots=True)
class Delivered:
    """A delivery report: where the record went, and the broker's append time (ms) on
    LogAppendTime topics."""

    topic: str
    partition: int
    offset: int
    timestamp: int


def failure(err: KafkaError, what: str) -> TransportError:
    if err.code() in TOO_LARGE:
        return RecordTooLarge(f"{what}: {err.str()}")
    return rdkafka_error(KafkaException(err), what)


def client_config(
    bootstrap: str, client_id: str, tuning: ClientTuning, security: ClientSecurity | None
) -> dict[str, Any]:
    connect_ms = int(tuning.connect_timeout * 1000)
    return {
        **rdkafka_config(bootstrap, security),
        "client.id": client_id,
        "socket.connection.setup.timeout.ms": connect_ms,
        "reconnect.backoff.ms": RETRY_BACKOFF_MS,
        "retry.backoff.ms": RETRY_BACKOFF_MS,
        "log.connection.close": False,
        "logger": log,
    }


def no_contact(exc: KafkaException, bootstrap: str) -> TransportError:
    """A failed first request: NotAuthorized when the login was refused, else BrokerUnreachable."""
    error = rdkafka_error(exc, f"no Kafka broker answers at {bootstrap}")
    return error if isinstance(error, NotAuthorized) else BrokerUnreachable(str(error))


async def first_contact(client: RdProducer | RdConsumer, bootstrap: str, limit_s: float) -> Any:
    """The cluster's metadata within `limit_s`, or BrokerUnreachable (NotAuthorized when the
    login is refused)."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(client.list_topics, None, limit_s), limit_s + 1
        )
    except KafkaException as exc:
        raise no_contact(exc, bootstrap) from None
    except TimeoutError:
        raise BrokerUnreachable(f"no Kafka broker answers at {bootstrap}: timed out") from None


def error_code(exc: BaseException | None) -> int | None:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0].code()
    return None


def succeed(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class Handover:
    """The event loop's one door for every librdkafka thread of the process: what threads hand
    over while the loop has not yet taken the last lot joins that lot, so the loop wakes once per
    lot, however many clients and records it holds."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._waiting: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def put(self, work: Callable[..., None], *args: Any) -> None:
        """From any thread: run `work(*args)` on the loop, in the order handed over."""
        with self._lock:
            first = not self._waiting
            self._waiting.append((work, args))
        if first:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                self.loop.call_soon_threadsafe(self._take)

    def _take(self) -> None:
        with self._lock:
            lot, self._waiting = self._waiting, []
        for work, args in lot:
            try:
                work(*args)
            except Exception as exc:  # one client's failure does not keep the others' lot
                self.loop.call_exception_handler(
                    {"message": "librdkafka hand-over failed", "exception": exc}
                )


_handovers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Handover] = (
    weakref.WeakKeyDictionary()
)
_handovers_lock = threading.Lock()


def handover() -> Handover:
    """The running loop's hand-over, shared by every librdkafka client started on it."""
    loop = asyncio.get_running_loop()
    with _handovers_lock:
        door = _handovers.get(loop)
        if door is None:
            door = _handovers[loop] = Handover(loop)
        return door
