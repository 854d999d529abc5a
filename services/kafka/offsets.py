"""A consumer group moved to the end of a topic, so the next reader inherits no backlog."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from services.kafka.client import client_errors, sasl_options
from services.security import ClientSecurity

__all__ = ["skip_to_end"]


async def skip_to_end(
    bootstrap: str, group: str, topic: str, security: ClientSecurity | None = None
) -> int | None:
    """Commit `group`'s offsets at the end of every partition of `topic` (logged in as
    `security` on a secured cluster), without joining the group; the records it skipped, or
    None when the group is busy and would not take the commit."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        **sasl_options(security),
    )
    try:
        with client_errors(f"moving group {group} to the end of {topic}"):
            await consumer.start()
        numbers = consumer.partitions_for_topic(topic) or set()
        parts = [TopicPartition(topic, n) for n in sorted(numbers)]
        if not parts:
            return 0
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        backlog = sum([int(ends[tp]) - (await consumer.committed(tp) or 0) for tp in parts])
        await consumer.commit({tp: ends[tp] for tp in parts})
        return backlog
    except KafkaError:
        return None
    finally:
        await consumer.stop()
