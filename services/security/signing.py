"""Who sent a record: an HMAC-SHA256 per record, keyed per agency, that the registry can check.

Kafka tells a consumer nothing about the producer, so every producer of a secured run signs
what it sends: header `ndx-signer` names its principal, header `ndx-mac` holds
HMAC(key_of(principal), topic | key | value). Each principal's key is derived from the run's
secret, which only the registry (and the stack that provisions the run) holds:
key_of(principal) = HMAC(run_secret, principal). A valid MAC proves that the holder of that
principal's key wrote this very topic, key and value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

SIGNER = "ndx-signer"
MAC = "ndx-mac"
SIGNATURE_HEADERS = frozenset({SIGNER, MAC})
KEY_BYTES = 32
_DOMAIN = b"ndxsim record key v1:"


def new_run_secret() -> str:
    """A fresh run secret, hex-encoded for the credentials files."""
    return secrets.token_hex(KEY_BYTES)


def key_of(run_secret: str, principal: str) -> str:
    """One principal's signing key (hex), derived from the run's secret."""
    return hmac.new(
        bytes.fromhex(run_secret), _DOMAIN + principal.encode(), hashlib.sha256
    ).hexdigest()


def _framed(topic: str, key: bytes | None, value: bytes | None) -> bytes:
    """Length-prefixed parts, so no two different records share the signed bytes."""
    out = b""
    for part in (topic.encode(), key, value):
        out += struct.pack(">i", -1) if part is None else struct.pack(">i", len(part)) + part
    return out


def mac(key_hex: str, topic: str, key: bytes | None, value: bytes | None) -> bytes:
    return hmac.new(bytes.fromhex(key_hex), _framed(topic, key, value), hashlib.sha256).digest()


def signature(
    principal: str, key_hex: str, topic: str, key: bytes | None, value: bytes | None
) -> list[tuple[str, bytes]]:
    """The two headers a signing producer adds to a record."""
    return [(SIGNER, principal.encode()), (MAC, mac(key_hex, topic, key, value))]


def unsigned(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Headers without any earlier signature (a record copied elsewhere is signed afresh)."""
    return [(k, v) for k, v in headers if k not in SIGNATURE_HEADERS]


@dataclass
class Verifier:
    """Checks signatures with keys derived from the run secret; knows no key it was not given."""

    run_secret: str
    _keys: dict[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # the secret never reaches a log line
        return "Verifier(run_secret=**********)"

    def signer(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> str | None:
        """The principal whose valid signature the record carries; None if unsigned or forged."""
        found = dict(headers)
        name, given = found.get(SIGNER), found.get(MAC)
        if name is None or given is None:
            return None
        try:
            principal = name.decode("ascii")
        except UnicodeDecodeError:
            return None
        if principal not in self._keys:
            if len(self._keys) > 10_000:  # forged names must not grow memory without bound
                self._keys.clear()
            self._keys[principal] = key_of(self.run_secret, principal)
        expected = mac(self._keys[principal], topic, key, value)
        return principal if hmac.compare_digest(expected, given) else None
