"""A poison flood on the request topic all ends in the DLQ while real requests are answered."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.kafka.bus import KafkaTransport
from services.wire.codec import Catalogue, Codec
from services.wire.topics import DLQ, VERIFY, topics_for
from tests.support.poison import (
    DLQ_HEADERS,
    Poison,
    header_map,
    junk,
    unknown_fingerprints,
    wrong_messages,
)
from tests.support.processes import reaped, sample, service, start_ready
from tests.support.traffic import Traffic

AGENCIES = ["province.001", "province.079", "ministry.vss"]
NORMAL = 600
DLQ_DEADLINE_S = 90.0


async def flood(bootstrap: str, poison: list[Poison]) -> dict[tuple[int, int], Poison]:
    """Write the poison in bursts with a raw producer; returns it by (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    written: dict[tuple[int, int], Poison] = {}
    try:
        for start in range(0, len(poison), 100):
            chunk = poison[start : start + 100]
            sends = [await producer.send(VERIFY.name, p.value, key=p.key) for p in chunk]
            for p, sent in zip(chunk, sends, strict=True):
                meta = await sent
                written[(meta.partition, meta.offset)] = p
            await asyncio.sleep(0.4)  # spread the flood over the normal traffic
    finally:
        await producer.stop()
    return written


async def dlq_end(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(DLQ.name, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def read_dlq(bootstrap: str, start: int, want: int) -> list[tuple[dict[str, str], Poison]]:
    """Every DLQ record from `start` to the end, once `want` of them have arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[dict[str, str], Poison]] = []
    tp = TopicPartition(DLQ.name, 0)
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        deadline = asyncio.get_running_loop().time() + DLQ_DEADLINE_S
        while asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(tp, timeout_ms=500)).values():
                for r in records:
                    out.append((header_map(r.headers), Poison(r.key, r.value or b"", "")))
            if (
                len(out) >= want
                and await consumer.position(tp) >= (await consumer.end_offsets([tp]))[tp]
            ):
                break
    finally:
        await consumer.stop()
    return out


async def test_poison_flood_is_dead_lettered_exactly_while_every_request_is_answered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    codec = Codec(Catalogue())
    rng = random.Random(1100)
    poison = junk(rng, 1000) + unknown_fingerprints(rng, 100, codec) + wrong_messages(40, codec)
    rng.shuffle(poison)
    expected = Counter(p.reason for p in poison)
    transport = KafkaTransport(kafka_bootstrap)
    await transport.ensure_topics(topics_for(AGENCIES))
    dlq_start = await dlq_end(kafka_bootstrap)
    registry = service("registry", "registry-dlq", kafka_bootstrap, tmp_path)
    async with reaped(registry):
        await start_ready(registry, "registry")
        traffic = Traffic.build(AGENCIES, transport, codec, timeout_s=30.0)
        await traffic.start()
        try:
            _, written = await asyncio.gather(
                traffic.play(rate=100, count=NORMAL), flood(kafka_bootstrap, poison)
            )
        finally:
            await traffic.stop()
        dead = await read_dlq(kafka_bootstrap, dlq_start, len(poison))
        counted = {
            reason: sample(
                registry.metrics_port,
                "ndx_dead_letters_total",
                {"service": "registry", "reason": reason},
            )
            for reason in expected
        }
        assert registry.proc is not None
        assert registry.proc.poll() is None, "the registry died under the poison flood"
        assert sample(registry.metrics_port, "ndx_service_ready", {"service": "registry"}) == 1

    ledger = traffic.ledger()
    assert ledger == {"sent": NORMAL, "answered": NORMAL, "timed_out": 0, "incorrect": 0, "lost": 0}
    assert traffic.late_answers == 0
    assert len(written) == len(poison)
    assert len(dead) == len(poison), f"DLQ holds {len(dead)} new records, {len(poison)} expected"
    seen: Counter[str] = Counter()
    for headers, record in dead:
        assert set(DLQ_HEADERS) <= set(headers), headers
        assert (headers["source_topic"], headers["service"]) == (VERIFY.name, "registry")
        original = written[(int(headers["source_partition"]), int(headers["source_offset"]))]
        assert headers["reason"] == original.reason, headers
        assert (record.key, record.value) == (original.key, original.value)
        seen[headers["reason"]] += 1
    assert seen == expected
    assert counted == {reason: float(n) for reason, n in expected.items()}
