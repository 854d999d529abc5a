"""No record wedges the registry: records as large as the broker takes, well-formed requests with
giant fields and a mix of 2,000 hostile records are dead-lettered (by reference when too large to
copy) while steady traffic is answered, no batch is re-read past the bound, and the counters
growth is measured from rise by exactly the legitimate traffic."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path

from services.loop.rereads import SPLIT_AFTER
from services.wire import bounds
from services.wire import messages as m
from services.wire.codec import Catalogue, Codec
from services.wire.topics import CIVIL, LOOKUP, VERIFY, reply_topic
from tests.support import hostile as h
from tests.support.hostilerun import Run, play
from tests.support.libraries import design_on, each_library
from tests.support.topics import read_topic

CLEAN = {"answered": 0, "timed_out": 0, "incorrect": 0, "lost": 0}
CODEC = Codec(Catalogue())


def assert_survived(run: Run, normal: int, answered_elsewhere: int = 0) -> None:
    """Every legitimate request answered right, nothing counted twice, nothing re-read forever."""
    assert run.ledger == {**CLEAN, "sent": normal, "answered": normal}
    assert run.late_answers == 0  # no answer was written for a hostile request
    assert run.alive and run.ready == 1
    assert "Traceback" not in run.log
    assert run.figures.batch_retries <= SPLIT_AFTER
    assert run.figures.transactions == normal + answered_elsewhere
    assert run.figures.dead_letters == Counter(x.reason for x in run.written.values())


def assert_dead_lettered(run: Run) -> None:
    """One dead letter per hostile record: its reason, and its copy or else its reference."""
    assert len(run.letters) == len(run.written), (len(run.letters), len(run.written))
    for letter in run.letters:
        original = run.written[letter.source]
        assert letter.headers["reason"] == original.reason, (original.kind, letter.headers)
        assert len(letter.headers.get("detail", "")) <= bounds.DETAIL_CHARS
        if original.reference:
            assert letter.headers["reference"] == "true" and letter.value is None
            assert letter.headers["source_size"] == str(len(original.value or b""))
        else:
            assert "reference" not in letter.headers
            assert (letter.key, letter.value) == (original.key, original.value)
        if original.value is None:
            assert letter.headers["null_value"] == "true"


def report(title: str, run: Run) -> None:
    kinds = Counter((x.kind, x.reason, x.reference) for x in run.written.values())
    f = run.figures
    print(
        f"\n{title}: {run.seconds:.1f} s, ledger {run.ledger}, late answers {run.late_answers}, "
        f"provider transactions {f.transactions:g}, batch retries {f.batch_retries:g}, "
        f"dead letters {dict(f.dead_letters)}"
    )
    for (kind, reason, reference), n in sorted(kinds.items()):
        print(f"  {kind:50} {n:5}  -> {reason}{' (reference)' if reference else ''}")


async def test_a_record_a_few_bytes_under_the_broker_limit_on_each_request_topic_is_referenced(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    rng = random.Random(90)
    blobs = []
    for topic in h.REQUEST_TOPICS:
        limit = await h.max_message_bytes(kafka_bootstrap, topic)
        blobs.append(h.near_limit_blob(rng, topic, limit))
    normal = 300
    run = await play(kafka_bootstrap, tmp_path, blobs, normal, rate=40)
    report("near-limit records", run)
    assert {x.topic for x in run.written.values()} == set(h.REQUEST_TOPICS)
    assert all(len(x.value or b"") > bounds.DLQ_COPY_LIMIT for x in blobs)
    assert_dead_lettered(run)
    assert_survived(run, normal)


async def test_well_formed_requests_with_fields_as_large_as_the_broker_allows_are_dead_lettered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    rng = random.Random(91)
    limits = {t: await h.max_message_bytes(kafka_bootstrap, t) for t in h.REQUEST_TOPICS}
    verify, lookup = h.request(rng), h.lookup(rng)
    civil = m.CivilStatusRegistered("e-big", "001090012345", "DEATH", "ministry.justice", 1)
    giants = [
        (VERIFY.name, verify, name)
        for name in ("full_name", "request_id", "requester", "purpose", "citizen_id", "birth_date")
    ]
    giants += [
        (LOOKUP.name, lookup, "purpose"),
        (CIVIL.name, civil, "event_id"),
        (CIVIL.name, civil, "residence_province"),
    ]
    key = b"0123456789abcdef"
    hostile = [
        h.Hostile(
            f"{type(msg).__name__}.{name} at the limit",
            topic,
            key,
            h.largest_field(CODEC, msg, name, limits[topic]),
            "oversized_field",
            reference=True,
        )
        for topic, msg, name in giants
    ]
    hostile.append(
        h.Hostile(
            "LookupRequested.fields at the limit",
            LOOKUP.name,
            key,
            h.largest_list(CODEC, lookup, "fields", limits[LOOKUP.name]),
            "oversized_field",
            reference=True,
        )
    )
    mid = dataclasses.replace(h.request(rng), full_name="Z" * 200_000)
    hostile.append(
        h.Hostile("full_name of 200 KB", VERIFY.name, key, CODEC.encode(mid), "oversized_field")
    )
    at_bounds = m.VerificationRequested(
        "b" * bounds.ID_CHARS,
        "ministry.tax",
        "0" * bounds.CITIZEN_ID_CHARS,
        "N" * bounds.NAME_CHARS,
        "d" * bounds.DATE_CHARS,
        "p" * bounds.LABEL_CHARS,
        "s" * bounds.LABEL_CHARS,
        1,
        "c" * bounds.LABEL_CHARS,
    )
    answered = h.Hostile("every field at its bound", VERIFY.name, key, CODEC.encode(at_bounds), "")
    normal = 300
    run = await play(
        kafka_bootstrap, tmp_path, [*hostile, answered], normal, rate=40, answered_elsewhere=1
    )
    run.written = {pos: x for pos, x in run.written.items() if x is not answered}
    report("giant fields", run)
    assert_dead_lettered(run)
    assert_survived(run, normal, answered_elsewhere=1)
    replies = await h_replies(kafka_bootstrap, at_bounds.request_id)
    assert len(replies) == 1 and len(replies[0]) < 2_000
    assert CODEC.decode(replies[0]).outcome == "REJECTED"  # type: ignore[union-attr]


async def h_replies(bootstrap: str, request_id: str) -> list[bytes]:
    """Answers to one request on ministry.tax's reply topic."""
    records = await read_topic(bootstrap, reply_topic("ministry.tax"))
    out = []
    for r in records:
        answer = CODEC.decode(r.value)
        if getattr(answer, "request_id", "") == request_id:
            out.append(bytes(r.value))
    return out


@each_library
async def test_two_thousand_hostile_records_during_steady_traffic_lose_and_inflate_nothing(
    kafka_bootstrap: str, tmp_path: Path, library: str
) -> None:
    rng = random.Random(92)
    limit = min([await h.max_message_bytes(kafka_bootstrap, t) for t in h.REQUEST_TOPICS])
    hostile = h.mix(rng, CODEC, limit)
    normal = 800
    design = design_on(library, tmp_path)  # the registry's clients on this library
    run = await play(kafka_bootstrap, tmp_path, hostile, normal, 60, pause_s=0.4, design=design)
    report("2,000 hostile records", run)
    assert len(run.written) == 2000
    assert len({x.kind for x in hostile}) == 10
    assert_dead_lettered(run)
    assert_survived(run, normal)
