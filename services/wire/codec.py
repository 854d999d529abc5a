"""Avro single-object encoding, so every message names its writer schema and needs no registry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, is_dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from services.wire import messages as m
from services.wire.topics import SCHEMA_OF

MAGIC = b"\xc3\x01"
HEADER_LEN = 10
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
_FILE_NAME = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>\d+)\.avsc$")
_CLASS_OF: dict[str, type] = {name: cls for cls, name in SCHEMA_OF.items()}


class CodecError(Exception):
    """Base of every codec failure; `reason` is a short, bounded label for metrics and the DLQ."""

    reason = "codec_error"


class UndecodableError(CodecError):
    reason = "undecodable"


class UnknownSchemaError(CodecError):
    reason = "unknown_schema"


class InvalidRecordError(CodecError):
    reason = "invalid_record"


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    full_name: str
    version: int
    parsed: dict[str, Any]
    fingerprint: bytes
    field_names: tuple[str, ...]
    path: Path


def _load(path: Path) -> SchemaVersion:
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise ValueError(f"{path}: schema files are named <Record>.v<N>.avsc")
    raw = json.loads(path.read_text(encoding="utf-8"))
    parsed = parse_schema(raw)
    assert isinstance(parsed, dict)
    full_name = f"{raw['namespace']}.{raw['name']}"
    if raw["name"] != match["name"]:
        raise ValueError(f"{path}: file names record {match['name']} but holds {raw['name']}")
    canonical = to_parsing_canonical_form(raw)
    return SchemaVersion(
        full_name=full_name,
        version=int(match["version"]),
        parsed=parsed,
        fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
        field_names=tuple(f["name"] for f in raw["fields"]),
        path=path,
    )


class Catalogue:
    """Every schema version kept under schemas/, by fingerprint and by name."""

    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        self.versions = [_load(p) for p in sorted(directory.glob("*.avsc"))]
        if not self.versions:
            raise ValueError(f"no *.avsc schemas found in {directory}")
        self.by_fingerprint = {v.fingerprint: v for v in self.versions}
        self.by_name: dict[str, dict[int, SchemaVersion]] = {}
        for v in self.versions:
            self.by_name.setdefault(v.full_name, {})[v.version] = v

    def version(self, full_name: str, version: int | None = None) -> SchemaVersion:
        known = self.by_name[full_name]
        return known[max(known) if version is None else version]


def _plain(value: Any) -> Any:
    """A list of nested records (a bulk request's items) as the mappings Avro writes."""
    if isinstance(value, list) and value and is_dataclass(value[0]):
        return [{f.name: getattr(v, f.name) for f in fields(v)} for v in value]
    return value


class Codec:
    """Encodes with a chosen writer version per record and decodes any catalogued version.

    Writers and readers default to the newest version; pinning a reader to an older one makes
    this codec behave as code deployed before the newer version, which ignores added fields.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        writer_versions: dict[str, int] | None = None,
        reader_versions: dict[str, int] | None = None,
    ) -> None:
        self.catalogue = catalogue
        writers, readers = writer_versions or {}, reader_versions or {}
        self._writers = {
            name: catalogue.version(name, writers.get(name)) for name in catalogue.by_name
        }
        self._readers = {
            name: catalogue.version(name, readers.get(name)) for name in catalogue.by_name
        }

    def writer(self, cls: type) -> SchemaVersion:
        return self._writers[SCHEMA_OF[cls]]

    def encode(self, message: m.Message) -> bytes:
        schema = self.writer(type(message))
        record = {name: _plain(getattr(message, name)) for name in schema.field_names}
        out = BytesIO()
        out.write(MAGIC)
        out.write(schema.fingerprint)
        try:
            schemaless_writer(out, schema.parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidRecordError(f"{schema.full_name} v{schema.version}: {exc}") from exc
        return out.getvalue()

    def writer_of(self, data: bytes) -> SchemaVersion:
        """The catalogued writer schema named by a message's header."""
        if len(data) < HEADER_LEN or data[:2] != MAGIC:
            raise UndecodableError("not Avro single-object encoding (missing C3 01 marker)")
        schema = self.catalogue.by_fingerprint.get(data[2:HEADER_LEN])
        if schema is None:
            raise UnknownSchemaError(f"unknown schema fingerprint {data[2:HEADER_LEN].hex()}")
        return schema

    def decode_record(self, data: bytes) -> tuple[SchemaVersion, dict[str, Any]]:
        writer = self.writer_of(data)
        reader = self._readers[writer.full_name]
        body = BytesIO(data[HEADER_LEN:])
        try:
            record = schemaless_reader(
                body, writer.parsed, None if reader is writer else reader.parsed
            )
        except Exception as exc:  # fastavro signals corrupt bodies with many exception types
            raise UndecodableError(f"{writer.full_name} v{writer.version}: corrupt body") from exc
        if body.tell() != len(data) - HEADER_LEN:
            raise UndecodableError(f"{writer.full_name} v{writer.version}: trailing bytes")
        if not isinstance(record, dict):
            raise UndecodableError(f"{writer.full_name}: body is not a record")
        return reader, record

    def decode(self, data: bytes) -> m.Message:
        schema, record = self.decode_record(data)
        cls = _CLASS_OF.get(schema.full_name)
        if cls is None:
            raise UnknownSchemaError(f"{schema.full_name} has no message class in this code")
        try:
            message: m.Message = cls(**record)
        except TypeError as exc:  # a catalogued reader schema the message class does not match
            raise InvalidRecordError(f"{schema.full_name} v{schema.version}: {exc}") from exc
        return message
