"""Moves a consumer group's committed offsets back, as a crash after answering would leave them."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from services.wire.codec import Codec, CodecError
from services.wire.topics import TopicSpec

Ranges = dict[TopicPartition, tuple[int, int]]


async def rewind_group(
    bootstrap: str, group: str, topic: TopicSpec, by: int, limit_s: float = 40.0
) -> Ranges:
    """Once the group has no live member, move each partition's offset back by `by` records.

    Returns the re-opened [start, end) range per partition: records processed and committed
    that the next member will read again.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        parts = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        consumer.assign(parts)
        deadline = asyncio.get_running_loop().time() + limit_s
        while True:
            committed = {tp: await consumer.committed(tp) or 0 for tp in parts}
            ranges = {tp: (max(0, end - by), end) for tp, end in committed.items() if end}
            try:  # refused while a member, even a dead one, still holds the group
                await consumer.commit({tp: start for tp, (start, _end) in ranges.items()})
                return ranges
            except KafkaError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await consumer.stop()


async def request_ids_in(bootstrap: str, ranges: Ranges, codec: Codec) -> list[str]:
    """Request ids of the records in the given offset ranges (poison and others skipped)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[str] = []
    try:
        consumer.assign(list(ranges))
        for tp, (start, _end) in ranges.items():
            consumer.seek(tp, start)
        todo = {tp: end for tp, (start, end) in ranges.items() if end > start}
        for _ in range(200):
            if not todo:
                break
            for tp, records in (await consumer.getmany(*todo, timeout_ms=200)).items():
                for r in records:
                    if r.offset >= todo.get(tp, -1):
                        continue
                    try:
                        out.append(str(getattr(codec.decode(r.value or b""), "request_id", "")))
                    except CodecError:
                        continue
                if await consumer.position(tp) >= todo.get(tp, 0):
                    todo.pop(tp, None)
        assert not todo, f"could not read back {todo}"
    finally:
        await consumer.stop()
    return out


async def skip_to_end(
    bootstrap: str, group: str, topics: list[TopicSpec], limit_s: float = 40.0
) -> None:
    """Once the group has no live member, commit the end of every partition of `topics`, so
    the next member reads only what is written from now on (earlier tests' leftovers skipped)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        parts = [TopicPartition(t.name, p) for t in topics for p in range(t.partitions)]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        deadline = asyncio.get_running_loop().time() + limit_s
        while True:
            try:  # refused while a member, even a dead one, still holds the group
                await consumer.commit({tp: int(end) for tp, end in ends.items()})
                return
            except KafkaError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
