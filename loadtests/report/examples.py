"""An answer judged incorrect, kept with everything needed to find out which one and why."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from loadtests.report.base import Part, Sparse


class ExampleStamps(Part):
    """The transaction's timestamps (µs since the epoch; the broker's append times in ms)."""

    intended_us: int
    sent_us: int
    received_us: int
    request_append_ms: int = 0
    registry_received_us: int = 0
    registry_answered_us: int = 0
    reply_append_ms: int = 0


class IncorrectExample(Sparse):
    """One incorrect answer: the request, what was expected at the version of the citizen's
    record the answer was decided on (and why), and what came back. The citizen appears only
    as its keyed reference (services.world.citizenref), never as its id; names and dates
    appear only as the names of the fields that differ."""

    request_id: str = ""
    agency: str = ""
    flow: str = ""
    citizen_ref: str | None = None  # None when the run keeps no audit key on this side
    expected: str = ""  # e.g. "MATCH", "MISMATCH full_name", "FOUND birth_date,deceased"
    why: str = ""  # how that expectation follows from the citizen's record at that version
    got: str = ""  # the outcome that came back, with what differs from the expectation
    responder: str | None = None  # a registry instance, or a ministry's replica
    attempts: int = 1
    citizen_version: int = -1  # changes of the citizen applied when decided; -1: unsaid
    stamps: ExampleStamps | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """A report written before examples were typed held one line of text each."""
        return {"why": value} if isinstance(value, str) else value
