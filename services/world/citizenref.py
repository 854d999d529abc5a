"""Keyed hash standing for a citizen id wherever the id itself must not be stored."""

from __future__ import annotations

import hashlib


def citizen_ref(citizen_id: str, key: bytes) -> str:
    """Stable per key, irreversible without it; the audit stream stores this, never the id."""
    return hashlib.blake2b(citizen_id.encode(), key=key[:64], digest_size=12).hexdigest()
