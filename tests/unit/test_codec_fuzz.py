"""Whatever bytes arrive, decoding yields a message or one of the codec's own typed errors."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.wire import messages as m
from services.wire.codec import (
    MAGIC,
    Catalogue,
    Codec,
    CodecError,
    SchemaVersion,
)

CATALOGUE = Catalogue()
CODEC = Codec(CATALOGUE)
OLD_READER = Codec(CATALOGUE, reader_versions={n: min(v) for n, v in CATALOGUE.by_name.items()})
TYPED_REASONS = {"undecodable", "unknown_schema", "invalid_record"}
MAX_BYTES = 512
FUZZ = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
pytestmark = pytest.mark.timeout(300)

_text = st.text(max_size=24)
_long = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def value_of(avro_type: Any) -> st.SearchStrategy[Any]:
    """Values valid for one field type of our schemas; an unhandled type fails loudly."""
    if avro_type == "string":
        return _text
    if avro_type == "long":
        return _long
    if avro_type == "int":
        return st.integers(min_value=-(2**31), max_value=2**31 - 1)
    if avro_type == "boolean":
        return st.booleans()
    if avro_type in ("float", "double"):
        return st.floats(width=32 if avro_type == "float" else 64)
    if avro_type == "bytes":
        return st.binary(max_size=24)
    if isinstance(avro_type, list):
        return st.one_of(*(value_of(t) for t in avro_type))
    if avro_type == "null":
        return st.none()
    kind = avro_type["type"]
    if kind == "enum":
        return st.sampled_from(avro_type["symbols"])
    if kind == "array":
        return st.lists(value_of(avro_type["items"]), max_size=4)
    if kind == "map":
        return st.dictionaries(_text, value_of(avro_type["values"]), max_size=4)
    if kind == "record":
        return st.fixed_dictionaries({f["name"]: value_of(f["type"]) for f in avro_type["fields"]})
    raise AssertionError(f"fuzz strategy does not cover Avro type {avro_type!r}")


@st.composite
def valid_encoding(draw: st.DrawFn) -> tuple[SchemaVersion, bytes]:
    """A well-formed message of any catalogued version, as its writer would put it on the wire."""
    schema = draw(st.sampled_from(CATALOGUE.versions))
    record = {f["name"]: draw(value_of(f["type"])) for f in schema.parsed["fields"]}
    out = BytesIO()
    out.write(MAGIC + schema.fingerprint)
    schemaless_writer(out, schema.parsed, record)
    return schema, out.getvalue()


@st.composite
def mutated_encoding(draw: st.DrawFn) -> bytes:
    """A valid encoding damaged the way a bad disk, a bad client or a bad actor would."""
    _schema, data = draw(valid_encoding())
    buf = bytearray(data)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "append", "set"]))
        at = draw(st.integers(min_value=0, max_value=max(0, len(buf) - 1)))
        if op == "flip" and buf:
            buf[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif op == "truncate":
            del buf[at:]
        elif op == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del buf[at : at + draw(st.integers(min_value=1, max_value=8))]
        elif op == "append":
            buf.extend(draw(st.binary(min_size=1, max_size=16)))
        elif buf:
            buf[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
    return bytes(buf[:MAX_BYTES])


def known_header() -> st.SearchStrategy[bytes]:
    return st.sampled_from([MAGIC + v.fingerprint for v in CATALOGUE.versions])


def decode_or_typed_error(codec: Codec, data: bytes) -> m.Message | None:
    """Decode; a failure must be a CodecError with a bounded reason, anything else propagates."""
    try:
        return codec.decode(data)
    except CodecError as exc:
        assert exc.reason in TYPED_REASONS
        return None


@FUZZ
@given(st.binary(max_size=MAX_BYTES))
def test_arbitrary_bytes_decode_or_raise_a_codec_error(data: bytes) -> None:
    decode_or_typed_error(CODEC, data)
    decode_or_typed_error(OLD_READER, data)


@FUZZ
@given(known_header(), st.binary(max_size=MAX_BYTES))
def test_a_known_fingerprint_over_a_random_body_decodes_or_raises_a_codec_error(
    header: bytes, body: bytes
) -> None:
    decode_or_typed_error(CODEC, header + body)
    decode_or_typed_error(OLD_READER, header + body)


@FUZZ
@given(st.binary(min_size=8, max_size=8), st.binary(max_size=64))
def test_an_unknown_fingerprint_is_always_reported_as_unknown_schema(
    fingerprint: bytes, body: bytes
) -> None:
    data = MAGIC + fingerprint + body
    if fingerprint in CATALOGUE.by_fingerprint:
        return
    with pytest.raises(CodecError) as caught:
        CODEC.decode(data)
    assert caught.value.reason == "unknown_schema"


@FUZZ
@given(mutated_encoding())
def test_damaged_valid_encodings_decode_or_raise_a_codec_error(data: bytes) -> None:
    decode_or_typed_error(CODEC, data)
    decode_or_typed_error(OLD_READER, data)


@FUZZ
@given(valid_encoding(), st.integers(min_value=0, max_value=MAX_BYTES))
def test_every_truncation_of_a_valid_encoding_is_caught(
    encoded: tuple[SchemaVersion, bytes], cut: int
) -> None:
    schema, data = encoded
    message = decode_or_typed_error(CODEC, data[:cut])
    if cut < len(data):  # Avro binary is prefix-free: a strict prefix never reads as a record
        assert message is None
    else:
        assert message is not None
        assert CODEC.writer_of(data) is schema
