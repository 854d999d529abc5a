"""Whatever a record holds, what the registry writes because of it is bounded: oversized fields
are dead-lettered, never copied; a dead letter too large to copy becomes a reference; a null
value stays null; a redelivered request is answered again but not counted again."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.kafka.twin import MemoryBus, MemRecord
from services.loop.runtime import ServiceLoop
from services.wire import bounds
from services.wire.bounds import DLQ_COPY_LIMIT, MAX_REQUEST_BYTES, clip, oversized
from services.wire.codec import Catalogue, Codec
from services.wire.messages import (
    CivilStatusRegistered,
    LookupRequested,
    Message,
    VerificationRequested,
)
from services.wire.topics import AUDIT, CIVIL, DLQ, LOOKUP, VERIFY, reply_topic
from tests.support.inproc import make_registry, registry_loop
from tests.support.poison import header_map
from tests.support.waiting import wait_for_async

CODEC = Codec(Catalogue())
MINISTRY = "ministry.vss"  # in the demo topology, with a lookup agreement


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def provider_transactions() -> float:
    return sum(
        s.value
        for metric in REGISTRY.collect()
        if metric.name == "ndx_sharing_transactions"
        for s in metric.samples
        if s.name.endswith("_total") and s.labels.get("observer") == "provider"
    )


def verification(**changes: Any) -> VerificationRequested:
    c = make_registry().population.draw_living(random.Random(5))
    req = VerificationRequested(
        f"r-{random.random()}",
        MINISTRY,
        c.citizen_id,
        c.full_name,
        c.birth_date,
        "public-service-dossier",
        "",
        1,
    )
    return dataclasses.replace(req, **changes)


async def play(bus: MemoryBus, records: list[tuple[str, bytes | None, bytes | None]]) -> None:
    """Write raw records on the registry's topics and wait until it has committed them all."""
    async with registry_loop(bus) as loop:
        producer = bus.producer("attacker")
        for topic, value, key in records:
            (await producer.send(topic, value, key=key)).result()
        await until(loop, len(records))


async def until(loop: ServiceLoop, count: int) -> None:
    await wait_for_async(lambda: loop.handled >= count, 5.0, f"{count} records handled", 0.01)


def dlq(bus: MemoryBus) -> list[MemRecord]:
    """Dead letters in the order of their sources (a reference is written after a refusal)."""

    def source(r: MemRecord) -> tuple[str, int, int]:
        h = header_map(r.headers)
        return h["source_topic"], int(h["source_partition"]), int(h["source_offset"])

    return sorted(bus.topics[DLQ.name][0], key=source)


def replies(bus: MemoryBus) -> list[MemRecord]:
    return [r for part in bus.topics[reply_topic(MINISTRY)] for r in part]


async def test_a_null_value_reaches_the_dlq_as_null_with_a_header_saying_so() -> None:
    bus = MemoryBus()
    await play(bus, [(VERIFY.name, None, b"k-1"), (LOOKUP.name, None, None)])
    second, first = dlq(bus)  # lookup sorts before verify
    assert (first.key, first.value) == (b"k-1", None)
    assert header_map(first.headers)["null_value"] == "true"
    assert second.value is None and header_map(second.headers)["null_value"] == "true"
    assert (
        second.key == f"{LOOKUP.name}/{header_map(second.headers)['source_partition']}/0".encode()
    )


async def test_a_record_too_large_to_copy_is_dead_lettered_as_a_small_reference() -> None:
    bus = MemoryBus(max_record_bytes=MAX_REQUEST_BYTES + 100)  # a broker's 1 MiB + framing
    blob = random.Random(1).randbytes(DLQ_COPY_LIMIT + 1)
    await play(bus, [(VERIFY.name, blob, b"001090000001")])
    [letter] = dlq(bus)
    headers = header_map(letter.headers)
    assert letter.value is None and b"001090000001" not in (letter.key or b"")
    assert headers["reference"] == "true" and headers["reason"] == "undecodable"
    assert headers["source_size"] == str(len(blob)) and headers["source_key_size"] == "12"
    assert sum(len(k) + len(v) for k, v in letter.headers) < 1024


async def test_a_copy_the_platform_refuses_is_replaced_by_its_reference() -> None:
    bus = MemoryBus(max_record_bytes=5_000)
    blob = b"\x00" * 4_800  # fits as an input; with the dead-letter headers it does not
    await play(bus, [(CIVIL.name, blob, b"1"), (CIVIL.name, b"\x00" * 10, b"1")])
    big, small = dlq(bus)
    assert header_map(big.headers)["reference"] == "true" and big.value is None
    assert "reference" not in header_map(small.headers) and small.value == b"\x00" * 10


OVERSIZED: list[Message] = [
    verification(full_name="N" * (bounds.NAME_CHARS + 1)),
    verification(request_id="r" * (bounds.ID_CHARS + 1)),
    verification(purpose="p" * 1_000_000),
    verification(citizen_id="0" * (bounds.CITIZEN_ID_CHARS + 1)),
    LookupRequested(
        "l-1",
        MINISTRY,
        "001090000001",
        "social-insurance-enrolment",
        ["full_name"] * (bounds.ITEMS + 1),
        1,
    ),
    LookupRequested(
        "l-2",
        MINISTRY,
        "001090000001",
        "social-insurance-enrolment",
        ["f" * (bounds.LABEL_CHARS + 1)],
        1,
    ),
    CivilStatusRegistered("e" * 5000, "001090000001", "DEATH", "ministry.justice", 1),
]


async def test_requests_with_oversized_fields_are_dead_lettered_and_never_answered() -> None:
    bus = MemoryBus()
    before = counted("ndx_dead_letters_total", service="registry", reason="oversized_field")
    tx = provider_transactions()
    records = [(TOPIC[type(m)], CODEC.encode(m), None) for m in OVERSIZED]
    await play(bus, records)  # type: ignore[arg-type]
    letters = dlq(bus)
    assert [header_map(r.headers)["reason"] for r in letters] == ["oversized_field"] * len(records)
    details = [header_map(r.headers)["detail"] for r in letters]
    assert sorted(d.split(":")[0] for d in details) == [
        "citizen_id",
        "event_id",
        "fields",
        "fields",
        "full_name",
        "purpose",
        "request_id",
    ]
    assert all(len(d) <= bounds.DETAIL_CHARS for d in details)
    assert replies(bus) == [] and not any(bus.topics[AUDIT.name])
    assert provider_transactions() == tx
    assert counted(
        "ndx_dead_letters_total", service="registry", reason="oversized_field"
    ) - before == len(records)


TOPIC = {
    VerificationRequested: VERIFY.name,
    LookupRequested: LOOKUP.name,
    CivilStatusRegistered: CIVIL.name,
}


async def test_a_request_at_every_limit_is_answered_with_a_bounded_answer() -> None:
    bus = MemoryBus()
    req = verification(
        request_id="r" * bounds.ID_CHARS,
        full_name="N" * bounds.NAME_CHARS,
        purpose="p" * bounds.LABEL_CHARS,
        service_code="s" * bounds.LABEL_CHARS,
        birth_date="d" * bounds.DATE_CHARS,
    )
    await play(bus, [(VERIFY.name, CODEC.encode(req), None)])
    [reply] = replies(bus)
    answer = CODEC.decode(reply.value or b"")
    assert answer.outcome == "REJECTED"  # type: ignore[union-attr]
    assert oversized(answer) is None and len(reply.value or b"") < 2_000
    assert not dlq(bus)


async def test_a_redelivered_request_is_answered_again_but_not_counted_again() -> None:
    bus = MemoryBus()
    data = CODEC.encode(verification())
    tx = provider_transactions()
    duplicates = counted("ndx_duplicate_requests_total", service="registry")
    await play(bus, [(VERIFY.name, data, None), (VERIFY.name, data, None)])
    assert len(replies(bus)) == 2
    assert sum(len(p) for p in bus.topics[AUDIT.name]) == 1
    assert provider_transactions() - tx == 1
    assert counted("ndx_duplicate_requests_total", service="registry") - duplicates == 1


async def test_dead_letter_headers_never_carry_the_citizen_id() -> None:
    bus = MemoryBus()
    citizen = "079301000123"
    events = [
        CivilStatusRegistered("e-1", citizen, "DEATH", "ministry.tax", 1),  # no authority
        CivilStatusRegistered("e-2", citizen[:-1] + "X", "DEATH", "ministry.justice", 1),
        CivilStatusRegistered("e-3", "9" * 12, "DEATH", "ministry.justice", 1),
    ]
    await play(bus, [(CIVIL.name, CODEC.encode(e), e.citizen_id.encode()) for e in events])
    letters = dlq(bus)
    assert len(letters) == 3
    for letter in letters:
        for _name, raw in letter.headers:
            assert citizen[3:9].encode() not in raw and b"999999" not in raw


def test_clip_never_grows_and_oversized_names_lists_and_maps() -> None:
    assert clip("x" * 10, 4) == "xxx…" and clip("abc", 4) == "abc"
    assert oversized(verification()) is None
    assert oversized(verification(channel="c" * 1000)) == "channel: 1000 characters > 128"


@pytest.mark.parametrize("entries", [bounds.ITEMS + 1, 1])
def test_oversized_counts_entries_and_their_length(entries: int) -> None:
    names = ["full_name"] * entries if entries > 1 else ["x" * (bounds.LABEL_CHARS + 1)]
    req = LookupRequested("l", MINISTRY, "001090000001", "p", names, 1)
    assert (oversized(req) or "").startswith("fields: ")
