"""The personal ID number `PPP G YY NNNNNN`: its rules, and how to show it without revealing it."""

from __future__ import annotations

import unicodedata
from datetime import date

from services.world import refdata

SIM_TODAY = date(2024, 6, 30)
ID_LENGTH = 12
SERIAL_SPACE = 1_000_000
MAX_AGE = 120


class InvalidCitizenId(ValueError):
    """An ID the registry must reject; `reason` is a short code fit for a REJECTED reply."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


def mask_id(citizen_id: str) -> str:
    """The ID with its middle hidden (e.g. 001******123), safe for logs."""
    s = citizen_id if isinstance(citizen_id, str) else ""
    if len(s) < 9 or not (s.isascii() and s.isalnum()):
        return "*" * min(len(s), ID_LENGTH)
    return s[:3] + "*" * min(len(s) - 6, ID_LENGTH) + s[-3:]


def normalise_name(name: str) -> str:
    """A comparison key: one Unicode form, single spaces, no case."""
    collapsed = " ".join(unicodedata.normalize("NFC", name).split())
    return unicodedata.normalize("NFC", collapsed.casefold())


def birth_year(citizen_id: str) -> int:
    """The birth year a well-formed ID encodes (century digit G and year digits YY)."""
    return 1900 + 100 * (int(citizen_id[3]) // 2) + int(citizen_id[4:6])


def century_digit(year: int, female: bool) -> int:
    """The G digit for a birth year and sex."""
    return (year // 100 - 19) * 2 + int(female)


def id_problem(citizen_id: object, today: date = SIM_TODAY) -> tuple[str, str] | None:
    """(reason, message) saying why an ID is invalid, or None when it is valid."""
    if not isinstance(citizen_id, str):
        return "type", "citizen id is not a string"
    if len(citizen_id) != ID_LENGTH:
        return "length", f"citizen id has {len(citizen_id)} characters, expected {ID_LENGTH}"
    masked = mask_id(citizen_id)
    if not (citizen_id.isascii() and citizen_id.isdigit()):
        return "non_digit", f"citizen id {masked} has characters other than the digits 0-9"
    if citizen_id[:3] not in refdata.province_codes():
        return "province", f"citizen id {masked} starts with an unknown province code"
    year = birth_year(citizen_id)
    if year > today.year:
        return "future_birth_year", f"citizen id {masked} encodes a birth year after {today}"
    if today.year - year > MAX_AGE:
        return "too_old", f"citizen id {masked} encodes an age over {MAX_AGE}"
    return None


def validate_id(citizen_id: str, today: date = SIM_TODAY) -> None:
    """Raise InvalidCitizenId unless the ID is well formed and plausible on `today`."""
    problem = id_problem(citizen_id, today)
    if problem is not None:
        raise InvalidCitizenId(problem[1], problem[0])


def is_valid_id(citizen_id: str, today: date = SIM_TODAY) -> bool:
    """Whether validate_id would accept the ID."""
    return id_problem(citizen_id, today) is None
