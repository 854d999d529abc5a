"""A producer replaced after a broker restart is closed only once no send is under way on it."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest
from aiokafka.errors import UnknownProducerId

from services.kafka import producer as kafkaproducer
from services.kafka.client import ClientTuning
from services.kafka.producer import KafkaProducer


class _Producer:
    """The client's interface; a send it holds waits like one waiting for metadata, and never
    returns once the client is closed under it (as aiokafka's does)."""

    made: ClassVar[list[_Producer]] = []

    def __init__(self, **_: Any) -> None:
        self.hold = self.refuse = self.stopped = False
        self.release, self.closed = asyncio.Event(), asyncio.Event()
        self.stopped_while_sending = False
        self.sending = 0
        _Producer.made.append(self)

    async def start(self) -> None:
        pass

    async def send(self, topic: str, value: bytes | None, **_: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        self.sending += 1
        try:
            if self.hold:
                await self.release.wait()
                if self.stopped:
                    await loop.create_future()  # the metadata it waits for never comes
        finally:
            self.sending -= 1
        delivery: asyncio.Future[Any] = loop.create_future()
        if self.refuse:
            delivery.set_exception(UnknownProducerId())  # a broker restarted: sequence lost
        else:
            delivery.set_result(None)
        return delivery

    async def stop(self) -> None:
        self.stopped_while_sending |= self.sending > 0
        self.stopped = True
        self.closed.set()


async def test_a_send_under_way_on_a_replaced_producer_finishes_before_that_producer_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kafkaproducer, "AIOKafkaProducer", _Producer)
    _Producer.made.clear()
    producer = KafkaProducer("127.0.0.1:9", "ministry.vss", ClientTuning(connect_timeout=2.0))
    await producer.start()
    first = _Producer.made[0]
    first.hold = True
    under_way = asyncio.create_task(producer.send("ndx.t", b"under way"))
    await asyncio.sleep(0.01)
    first.hold, first.refuse = False, True
    refused = await producer.send("ndx.t", b"refused")
    with pytest.raises(UnknownProducerId):
        await refused
    await asyncio.sleep(0.01)  # its failure, once seen, marks the producer unusable
    first.refuse = False
    await (await producer.send("ndx.t", b"after"))  # sent through a new producer
    assert len(_Producer.made) == 2 and not first.stopped  # the replaced one waits for its send
    first.release.set()
    await (await asyncio.wait_for(under_way, 1.0))  # it finished instead of waiting forever
    await asyncio.wait_for(first.closed.wait(), 5.0)  # and the replaced producer is closed
    assert not first.stopped_while_sending
    await producer.stop()
