"""Poison records for the request topic, each with the dead-letter reason it must earn."""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.wire import messages as m
from services.wire.codec import MAGIC, Codec

DLQ_HEADERS = ("source_topic", "source_partition", "source_offset", "reason", "service")


@dataclass(frozen=True, slots=True)
class Poison:
    key: bytes | None
    value: bytes
    reason: str


def junk(rng: random.Random, count: int) -> list[Poison]:
    """Random byte strings, none starting with the single-object marker."""
    out = []
    for _ in range(count):
        value = rng.randbytes(rng.randint(0, 200))
        if value[:1] == MAGIC[:1]:
            value = b"\x00" + value[1:]
        key = None if rng.random() < 0.2 else rng.randbytes(rng.randint(1, 16))
        out.append(Poison(key, value, "undecodable"))
    return out


def unknown_fingerprints(rng: random.Random, count: int, codec: Codec) -> list[Poison]:
    """The marker, a fingerprint no catalogued schema has, and a random body."""
    out: list[Poison] = []
    while len(out) < count:
        fingerprint = rng.randbytes(8)
        if fingerprint in codec.catalogue.by_fingerprint:
            continue
        value = MAGIC + fingerprint + rng.randbytes(rng.randint(0, 120))
        out.append(Poison(rng.randbytes(12), value, "unknown_schema"))
    return out


def wrong_messages(count: int, codec: Codec) -> list[Poison]:
    """Well-formed messages that have no business on the verification request topic."""
    kinds: list[m.Message] = [
        m.DossierSubmitted("d-1", "province.001", "passport", "ONLINE", "ab12", 4),
        m.CitizenChanged("e-1", "079301000123", "DIED", "ministry.justice", 3, "", True),
        m.SharingAudited("r-1", "province.001", "registry", "verify", "p", "MATCH", "ab", 1, 2),
        m.VerificationAnswered("r-1", "province.001", "registry-x", "MATCH", 5),
    ]
    return [
        Poison(b"001090012345", codec.encode(kinds[i % len(kinds)]), "unexpected_message")
        for i in range(count)
    ]


def header_map(headers: object) -> dict[str, str]:
    """A record's headers as text, last value wins."""
    assert isinstance(headers, list | tuple)
    return {str(k): bytes(v).decode() for k, v in headers}
