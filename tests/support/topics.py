"""Reads whole topics from a real broker, for tests that check what was written."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from services.kafka.bus import sasl_options
from services.security.credentials import ClientSecurity


async def read_topic(
    bootstrap: str, topic: str, limit_s: float = 30.0, security: ClientSecurity | None = None
) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Every record of a topic from its beginning to its end offsets at the time of the call
    (as `security`'s principal on a secured cluster)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **sasl_options(security),
    )
    await consumer.start()
    try:
        consumer.subscribe([topic])
        while not consumer.assignment():  # noqa: ASYNC110 - the client assigns on its own task
            await asyncio.sleep(0.05)
        parts = list(consumer.assignment())
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[ConsumerRecord] = []  # type: ignore[type-arg]
        deadline = asyncio.get_running_loop().time() + limit_s
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {limit_s}s")
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()
