"""Every schema parses, round-trips through the codec and is found again by its fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastavro.schema import fingerprint, to_parsing_canonical_form

from services.wire import messages as m
from services.wire.codec import (
    MAGIC,
    SCHEMA_DIR,
    Catalogue,
    Codec,
    InvalidRecordError,
    UndecodableError,
    UnknownSchemaError,
)
from services.wire.topics import SCHEMA_OF

SAMPLES: list[m.Message] = [
    m.VerificationRequested(
        "r-1",
        "province.001",
        "001090012345",
        "Nguyễn Văn An",
        "1990-02-03",
        "public-service-dossier",
        "passport",
        1_700_000_000_000_000,
    ),
    m.VerificationAnswered(
        "r-1", "province.001", "registry-1", "MISMATCH", 1_700_000_000_000_100, ["full_name"], ""
    ),
    m.LookupRequested(
        "r-2",
        "ministry.vss",
        "079301000123",
        "social-insurance-enrolment",
        ["full_name", "birth_date"],
        1,
    ),
    m.LookupAnswered("r-2", "ministry.vss", "registry-1", "FOUND", 2, {"full_name": "Lê Thị Hoa"}),
    m.CitizenChanged("e-1", "079301000123", "DIED", "ministry.justice", 3, "", True),
    m.CivilStatusRegistered("c-1", "079301000123", "DEATH", "ministry.justice", 5),
    m.DossierSubmitted("d-1", "province.092", "passport", "ONLINE", "ab12", 4),
    m.SharingAudited(
        "r-1", "province.001", "registry", "verify", "public-service-dossier", "MATCH", "ab12", 1, 2
    ),
    m.SellersShared(
        "s-1",
        "platform.shopee",
        "job-1",
        [
            m.SellerShared(
                "job-1:shopee:0", "INDIVIDUAL", "001090012345", "Lê Văn Tâm", "1990-02-03"
            ),
            m.SellerShared(
                "job-1:shopee:1", "ENTERPRISE", "079301000123", "Lê Thị Hoa", "1975-01-01", "0101"
            ),
        ],
        6,
    ),
    m.BulkVerificationRequested(
        "b-1",
        "ministry.tax",
        "seller-tax-reconciliation",
        [m.BulkItem("job-1:shopee:0", "001090012345", "Lê Văn Tâm", "1990-02-03")],
        7,
    ),
    m.BulkVerificationAnswered(
        "b-1",
        "ministry.tax",
        "registry-1",
        [m.BulkItemAnswer("job-1:shopee:0", "MISMATCH", ["birth_date"], "", 0)],
        8,
        7,
        100,
    ),
    m.SellersReconciled(
        "s-1",
        "platform.shopee",
        "job-1",
        [m.SellerReconciled("job-1:shopee:0", "INDIVIDUAL", "MATCH", 0)],
        6,
        9,
        1,
        0,
        0,
        0,
    ),
]


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(Catalogue())


def test_every_schema_file_parses_and_is_one_record_in_the_ndx_namespace() -> None:
    files = sorted(SCHEMA_DIR.glob("*.avsc"))
    assert files
    for path in files:
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert raw["type"] == "record", path
        assert raw["namespace"] == "vn.gov.ndx", path
        assert path.name.startswith(raw["name"] + ".v"), path


def test_every_message_class_has_a_catalogued_schema(codec: Codec) -> None:
    assert set(SCHEMA_OF.values()) <= set(codec.catalogue.by_name)
    assert {type(s) for s in SAMPLES} == set(SCHEMA_OF)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda s: type(s).__name__)
def test_message_round_trips_and_names_its_writer_schema(codec: Codec, message: m.Message) -> None:
    data = codec.encode(message)
    schema = codec.writer(type(message))
    assert data[:2] == MAGIC
    assert data[2:10] == schema.fingerprint
    assert codec.writer_of(data) is schema
    assert codec.decode(data) == message


def test_fingerprint_is_crc64_avro_of_canonical_form_little_endian() -> None:
    path = SCHEMA_DIR / "VerificationRequested.v1.avsc"
    raw = json.loads(path.read_text(encoding="utf-8"))
    canonical = to_parsing_canonical_form(raw).encode()
    # Reference CRC-64-AVRO from the Avro specification, computed independently of fastavro.
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in canonical:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    expected = fp.to_bytes(8, "little")
    assert bytes.fromhex(fingerprint(canonical.decode(), "CRC-64-AVRO")) == expected
    assert Catalogue().version("vn.gov.ndx.VerificationRequested", 1).fingerprint == expected


def test_unknown_fingerprint_is_rejected_with_a_typed_error(codec: Codec) -> None:
    data = bytearray(codec.encode(SAMPLES[0]))
    data[2:10] = b"\x00" * 8
    with pytest.raises(UnknownSchemaError, match="unknown schema fingerprint 0000000000000000"):
        codec.decode(bytes(data))


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc3", b"hello world", b"\xc3\x02" + b"\x00" * 20],
    ids=["empty", "short", "text", "bad-magic"],
)
def test_bytes_without_the_single_object_marker_are_undecodable(codec: Codec, data: bytes) -> None:
    with pytest.raises(UndecodableError):
        codec.decode(data)


def test_truncated_and_padded_bodies_are_undecodable(codec: Codec) -> None:
    data = codec.encode(SAMPLES[0])
    with pytest.raises(UndecodableError):
        codec.decode(data[:-5])
    with pytest.raises(UndecodableError, match="trailing bytes"):
        codec.decode(data + b"\x00\x01")


def test_a_record_that_breaks_its_schema_is_refused_at_encode(codec: Codec) -> None:
    bad = m.VerificationAnswered("r", "province.001", "registry", "MAYBE", 1)
    with pytest.raises(InvalidRecordError, match="VerificationAnswered"):
        codec.encode(bad)


def test_catalogue_refuses_a_misnamed_schema_file(tmp_path: Path) -> None:
    (tmp_path / "Wrong.v1.avsc").write_text(
        json.dumps({"type": "record", "name": "Other", "namespace": "vn.gov.ndx", "fields": []})
    )
    with pytest.raises(ValueError, match="holds Other"):
        Catalogue(tmp_path)
