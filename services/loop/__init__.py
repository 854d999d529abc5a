"""The consume -> handle -> publish loop of every service: window, rereads, dead letters."""

from __future__ import annotations

from services.loop.runtime import (
    DeadLetter,
    Handler,
    Outgoing,
    Refusal,
    ServiceLoop,
    Tally,
    admit_all,
)

__all__ = ["DeadLetter", "Handler", "Outgoing", "Refusal", "ServiceLoop", "Tally", "admit_all"]
