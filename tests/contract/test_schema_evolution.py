"""Schema versions only add fields with defaults, so old and new code read each other's messages."""

from __future__ import annotations

import copy
import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from services.wire import messages as m
from services.wire.codec import SCHEMA_DIR, Catalogue, Codec, UnknownSchemaError

REQUESTED = "vn.gov.ndx.VerificationRequested"
ANSWERED = "vn.gov.ndx.VerificationAnswered"
_FIELD_AT = re.compile(r"fields/(\d+)")

Raw = dict[str, Any]


def reader_problems(reader: Raw, writer: Raw) -> list[str]:
    """Why `reader` cannot read what `writer` wrote, each naming the field concerned."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    fields = {str(i): f["name"] for i, f in enumerate(reader["fields"])}
    named = sorted(
        {fields.get(hit[1], "?") for loc in result.locations if (hit := _FIELD_AT.search(loc))}
    )
    kinds = sorted(k.value for k in result.incompatibilities)
    return [f"field(s) {named or '?'}: {kinds}: {sorted(result.messages)}"]


def full_problems(name: str, old: tuple[int, Raw], new: tuple[int, Raw]) -> list[str]:
    """FULL compatibility: the new version reads the old one and the old version reads the new."""
    (old_v, old_raw), (new_v, new_raw) = old, new
    out = [
        f"{name}: v{new_v} reader cannot read v{old_v} writer: {p}"
        for p in reader_problems(new_raw, old_raw)
    ]
    out += [
        f"{name}: v{old_v} reader cannot read v{new_v} writer: {p}"
        for p in reader_problems(old_raw, new_raw)
    ]
    return out


def raw_of(catalogue: Catalogue, name: str, version: int) -> Raw:
    loaded: Raw = json.loads(catalogue.version(name, version).path.read_text(encoding="utf-8"))
    return loaded


def version_pairs() -> list[tuple[str, int, int]]:
    catalogue = Catalogue()
    return [
        (name, old, new)
        for name, versions in sorted(catalogue.by_name.items())
        for old, new in itertools.combinations(sorted(versions), 2)
    ]


def test_the_catalogue_holds_evolved_records_to_check() -> None:
    evolved = {name for name, _old, _new in version_pairs()}
    assert {REQUESTED, ANSWERED} <= evolved


@pytest.mark.parametrize(
    ("name", "old", "new"), version_pairs(), ids=lambda v: str(v).rsplit(".", 1)[-1]
)
def test_every_version_is_fully_compatible_with_every_earlier_one(
    name: str, old: int, new: int
) -> None:
    catalogue = Catalogue()
    problems = full_problems(
        name, (old, raw_of(catalogue, name, old)), (new, raw_of(catalogue, name, new))
    )
    assert not problems, "\n".join(problems)


def synthetic(change: str) -> tuple[Raw, Raw]:
    """VerificationRequested v1 and a deliberately broken v2 of it."""
    v1 = raw_of(Catalogue(), REQUESTED, 1)
    v2 = copy.deepcopy(v1)
    if change == "add-without-default":
        v2["fields"].append({"name": "consent_ref", "type": "string"})
    elif change == "remove-without-default":
        v2["fields"] = [f for f in v2["fields"] if f["name"] != "purpose"]
    else:
        for f in v2["fields"]:
            if f["name"] == "requested_at_us":
                f["type"] = "string"
    return v1, v2


def test_checker_refuses_a_field_added_without_a_default_and_names_it() -> None:
    v1, v2 = synthetic("add-without-default")
    problems = full_problems(REQUESTED, (1, v1), (2, v2))
    assert len(problems) == 1
    assert "VerificationRequested: v2 reader cannot read v1 writer" in problems[0]
    assert "consent_ref" in problems[0]
    assert "reader_field_missing_default_value" in problems[0]


def test_checker_refuses_a_removed_field_the_old_reader_needs_and_names_it() -> None:
    v1, v2 = synthetic("remove-without-default")
    problems = full_problems(REQUESTED, (1, v1), (2, v2))
    assert len(problems) == 1
    assert "v1 reader cannot read v2 writer" in problems[0]
    assert "'purpose'" in problems[0]


def test_checker_refuses_a_changed_field_type_and_names_the_field() -> None:
    v1, v2 = synthetic("retype")
    problems = full_problems(REQUESTED, (1, v1), (2, v2))
    assert len(problems) == 2
    assert all("'requested_at_us'" in p and "type_mismatch" in p for p in problems)


def request(channel: str = "") -> m.VerificationRequested:
    return m.VerificationRequested(
        "r-1",
        "province.001",
        "001090012345",
        "Nguyễn Văn An",
        "1990-02-03",
        "public-service-dossier",
        "passport",
        1_700_000_000_000_000,
        channel,
    )


def test_a_v1_pinned_writer_is_read_by_new_code_with_the_default_filled() -> None:
    catalogue = Catalogue()
    old_writer = Codec(catalogue, writer_versions={REQUESTED: 1, ANSWERED: 1})
    new_reader = Codec(catalogue)
    data = old_writer.encode(request(channel="ONLINE"))  # v1 has no channel: it is not written
    assert new_reader.writer_of(data).version == 1
    assert new_reader.decode(data) == request(channel="")
    answer = m.VerificationAnswered("r-1", "province.001", "registry-1", "MATCH", 5)
    answer.registry_version = "2025.07"
    decoded = new_reader.decode(old_writer.encode(answer))
    assert isinstance(decoded, m.VerificationAnswered)
    assert decoded.registry_version == ""
    assert decoded.outcome == "MATCH"


def test_new_code_writes_the_newest_version_with_the_new_fields() -> None:
    codec = Codec(Catalogue())
    data = codec.encode(request(channel="COUNTER"))
    assert codec.writer_of(data).version == 2
    assert codec.decode(data) == request(channel="COUNTER")


def test_an_old_reader_ignores_the_field_a_v2_writer_added() -> None:
    catalogue = Catalogue()
    old_reader = Codec(catalogue, reader_versions={REQUESTED: 1, ANSWERED: 1})
    data = Codec(catalogue).encode(request(channel="ONLINE"))
    assert old_reader.decode(data) == request(channel="")


def test_a_reader_whose_catalogue_holds_only_v1_reads_v1_and_names_the_unknown_v2(
    tmp_path: Path,
) -> None:
    """Single-object encoding needs the writer's schema: ship a version's file before using it."""
    for path in SCHEMA_DIR.glob("*.v1.avsc"):
        shutil.copy(path, tmp_path / path.name)
    only_v1 = Codec(Catalogue(tmp_path))
    assert set(only_v1.catalogue.by_name[REQUESTED]) == {1}
    old = Codec(Catalogue(), writer_versions={REQUESTED: 1}).encode(request())
    assert only_v1.decode(old) == request()
    new = Codec(Catalogue()).encode(request(channel="ONLINE"))
    with pytest.raises(UnknownSchemaError, match=new[2:10].hex()):
        only_v1.decode(new)
