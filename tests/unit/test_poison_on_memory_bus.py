"""On the in-memory twin, poison on the request topic is dead-lettered while real requests flow."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from prometheus_client import REGISTRY

from services.kafka.twin import MemoryBus
from services.wire.codec import Catalogue, Codec
from services.wire.topics import DLQ, VERIFY
from tests.support.inproc import registry_loop
from tests.support.poison import (
    DLQ_HEADERS,
    Poison,
    header_map,
    junk,
    unknown_fingerprints,
    wrong_messages,
)
from tests.support.traffic import Traffic

AGENCIES = ["province.001", "ministry.vss"]


def dead_letters(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "ndx_dead_letters_total", {"service": "registry", "reason": reason}
    )
    return value or 0.0


async def test_poison_reaches_the_dlq_with_its_reason_while_every_request_is_answered() -> None:
    bus, codec = MemoryBus(), Codec(Catalogue())
    rng = random.Random(61)
    poison = junk(rng, 300) + unknown_fingerprints(rng, 50, codec) + wrong_messages(20, codec)
    rng.shuffle(poison)
    expected = Counter(p.reason for p in poison)
    before = {reason: dead_letters(reason) for reason in expected}
    async with registry_loop(bus) as loop:
        traffic = Traffic.build(AGENCIES, bus, codec, timeout_s=5.0)
        await traffic.start()
        producer = bus.producer("attacker")
        written: dict[tuple[int, int], Poison] = {}

        async def flood() -> None:
            for i, p in enumerate(poison):
                rec = (await producer.send(VERIFY.name, p.value, key=p.key)).result()
                written[(rec.partition, rec.offset)] = p
                if i % 25 == 0:
                    await asyncio.sleep(0.005)

        await asyncio.wait_for(asyncio.gather(traffic.play(400, 400), flood()), 30)
        await traffic.stop()
        for _ in range(300):
            if loop.handled >= 400 + len(poison):
                break
            await asyncio.sleep(0.01)
        handled = loop.handled
    assert handled == 400 + len(poison)  # the loop read everything and is still the one running
    ledger = traffic.ledger()
    assert ledger == {"sent": 400, "answered": 400, "timed_out": 0, "incorrect": 0, "lost": 0}
    dlq = bus.topics[DLQ.name][0]
    assert len(dlq) == len(poison)
    seen: Counter[str] = Counter()
    for rec in dlq:
        headers = header_map(rec.headers)
        assert set(DLQ_HEADERS) <= set(headers)
        assert headers["source_topic"] == VERIFY.name
        assert headers["service"] == "registry"
        original = written[(int(headers["source_partition"]), int(headers["source_offset"]))]
        assert headers["reason"] == original.reason
        assert (rec.key, rec.value) == (original.key, original.value)
        seen[headers["reason"]] += 1
    assert seen == expected
    for reason, count in expected.items():
        assert dead_letters(reason) - before[reason] == count
