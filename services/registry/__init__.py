"""The National Population Database: answers verifications and lookups, publishes changes."""

from __future__ import annotations

from services.registry.agreements import LegalBasis
from services.registry.control import State, announce

__all__ = ["LegalBasis", "State", "announce"]
