"""Hostile records of many kinds for the registry's input topics, each with what it must earn,
and a raw client able to write records as large as the broker takes."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.kafka.bus import KafkaTransport
from services.wire import bounds
from services.wire import messages as m
from services.wire.codec import Codec
from services.wire.topics import CIVIL, LOOKUP, VERIFY
from tests.support.poison import junk, unknown_fingerprints, wrong_messages

REQUEST_TOPICS = (VERIFY.name, LOOKUP.name, CIVIL.name)
BATCH_FRAMING = 72  # a one-record batch around a value with no key and no headers
UNDER_LIMIT = 8  # "a few bytes" under the broker's limit


@dataclass(frozen=True, slots=True)
class Hostile:
    kind: str
    topic: str
    key: bytes | None
    value: bytes | None
    reason: str  # the dead-letter reason it must earn
    reference: bool = False  # too large to copy: its dead letter is a reference


async def max_message_bytes(bootstrap: str, topic: str) -> int:
    """The broker's own limit on one record batch for this topic (max.message.bytes)."""
    await KafkaTransport(bootstrap).ensure_topics([VERIFY, LOOKUP, CIVIL])  # this test may be first
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        wanted = ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": None})
        [response] = await admin.describe_configs([wanted])
    finally:
        await admin.close()
    for _err, _msg, _type, _name, entries in response.resources:
        for name, value, *_rest in entries:
            if name == "max.message.bytes":
                return int(value)
    raise AssertionError(f"{topic}: the broker did not say its max.message.bytes: {response}")


async def write_raw(
    bootstrap: str, records: Sequence[Hostile], pause_every: int = 100, pause_s: float = 0.3
) -> dict[tuple[str, int, int], Hostile]:
    """Write with a plain client allowed 4 MiB requests; returns them by (topic, partition,
    offset). Pauses between chunks spread the records over the normal traffic."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    written: dict[tuple[str, int, int], Hostile] = {}
    try:
        for start in range(0, len(records), pause_every):
            chunk = records[start : start + pause_every]
            sent = [await producer.send(h.topic, h.value, key=h.key) for h in chunk]
            for h, delivery in zip(chunk, sent, strict=True):
                meta = await delivery
                written[(h.topic, meta.partition, meta.offset)] = h
            await asyncio.sleep(pause_s)
    finally:
        await producer.stop()
    return written


def near_limit_blob(rng: random.Random, topic: str, limit: int) -> Hostile:
    """Random bytes making a batch a few bytes under the broker's limit."""
    value = b"\x00" + rng.randbytes(limit - BATCH_FRAMING - UNDER_LIMIT - 1)
    return Hostile("near-limit blob", topic, None, value, "undecodable", reference=True)


def largest_field(codec: Codec, message: m.Message, name: str, limit: int) -> bytes:
    """The message with one text field grown until its batch is a few bytes under `limit`."""
    base = len(codec.encode(dataclasses.replace(message, **{name: ""})))  # type: ignore[type-var]
    size = limit - BATCH_FRAMING - 16 - UNDER_LIMIT - base - 3  # 16: the key; 3: a longer varint
    data = codec.encode(dataclasses.replace(message, **{name: "X" * size}))  # type: ignore[type-var]
    assert len(data) + BATCH_FRAMING + 16 <= limit - UNDER_LIMIT + 2
    return data


def request(rng: random.Random, requester: str = "province.001") -> m.VerificationRequested:
    return m.VerificationRequested(
        f"hostile-{rng.randbytes(6).hex()}",
        requester,
        "001090012345",
        "NGUYEN VAN A",
        "1990-01-01",
        "public-service-dossier",
        "",
        1,
    )


def lookup(rng: random.Random, requester: str = "ministry.vss") -> m.LookupRequested:
    return m.LookupRequested(
        f"hostile-{rng.randbytes(6).hex()}",
        requester,
        "001090012345",
        "social-insurance-enrolment",
        ["full_name"],
        1,
    )


def oversized(rng: random.Random, codec: Codec, count: int) -> list[Hostile]:
    """Well-formed requests with one field over its limit, from a few KB to a few hundred KB."""
    out = []
    for i in range(count):
        big = "Y" * rng.randint(bounds.NAME_CHARS + 1, 300_000)
        choice = i % 4
        if choice == 0:
            message: m.Message = dataclasses.replace(request(rng), full_name=big)
        elif choice == 1:
            message = dataclasses.replace(request(rng), request_id=big)
        elif choice == 2:
            message = dataclasses.replace(lookup(rng), fields=["full_name"] * (bounds.ITEMS + 1))
        else:
            message = m.CivilStatusRegistered(big, "001090012345", "DEATH", "ministry.justice", 1)
        topic = {0: VERIFY.name, 1: VERIFY.name, 2: LOOKUP.name, 3: CIVIL.name}[choice]
        out.append(
            Hostile(
                "oversized field", topic, b"001090012345", codec.encode(message), "oversized_field"
            )
        )
    return out


def mix(rng: random.Random, codec: Codec, limit: int, total: int = 2000) -> list[Hostile]:
    """`total` hostile records of ten kinds over the three request topics, shuffled."""

    def spread(kind: str, items: Sequence[tuple[bytes | None, bytes | None, str]]) -> list[Hostile]:
        return [Hostile(kind, REQUEST_TOPICS[i % 3], k, v, r) for i, (k, v, r) in enumerate(items)]

    def corrupt(n: int) -> list[tuple[bytes | None, bytes | None, str]]:
        """A catalogued fingerprint and a body cut short."""
        good = codec.encode(request(rng))
        return [(None, good[: rng.randint(10, len(good) - 1)], "undecodable") for _ in range(n)]

    out = spread("junk", [(p.key, p.value, p.reason) for p in junk(rng, 700)])
    out += spread(
        "unknown fingerprint",
        [(p.key, p.value, p.reason) for p in unknown_fingerprints(rng, 300, codec)],
    )
    out += spread("corrupt body", corrupt(200))
    out += spread("wrong message", [(p.key, p.value, p.reason) for p in wrong_messages(150, codec)])
    out += [
        Hostile(
            "request on the wrong topic",
            LOOKUP.name,
            b"k",
            codec.encode(request(rng)),
            "unexpected_message",
        )
        for _ in range(100)
    ]
    out += spread("null value", [(rng.randbytes(4), None, "undecodable") for _ in range(150)])
    out += oversized(rng, codec, 200)
    out += [near_limit_blob(rng, REQUEST_TOPICS[i % 3], limit) for i in range(10)]
    out += [
        Hostile(
            "unknown requester",
            VERIFY.name,
            b"001090012345",
            codec.encode(request(rng, f"spy.{i}")),
            "unknown_requester",
        )
        for i in range(150)
    ]
    out += [
        Hostile(
            "civil event from no civil authority",
            CIVIL.name,
            b"001090012345",
            codec.encode(
                m.CivilStatusRegistered(f"e-{i}", "001090012345", "DEATH", "ministry.tax", 1)
            ),
            "no_civil_authority",
        )
        for i in range(total - len(out))
    ]
    assert len(out) == total
    rng.shuffle(out)
    return out


def largest_list(codec: Codec, message: m.Message, name: str, limit: int) -> bytes:
    """The message with a list field of short entries grown until a few bytes under `limit`."""
    base = len(codec.encode(dataclasses.replace(message, **{name: []})))  # type: ignore[type-var]
    count = (limit - BATCH_FRAMING - 16 - UNDER_LIMIT - base - 6) // 11  # 10 chars and a length
    data = codec.encode(dataclasses.replace(message, **{name: ["f" * 10] * count}))  # type: ignore[type-var]
    assert len(data) + BATCH_FRAMING + 16 <= limit - UNDER_LIMIT
    return data
