"""How many citizens each birth cohort holds and how its serials are permuted: the arithmetic
that decides which IDs exist, kept apart from what their records say."""

from __future__ import annotations

import hashlib
import math
from datetime import date
from typing import NamedTuple

from services.world.citizen_id import SERIAL_SPACE, birth_year

__all__ = [
    "DECEASED_BASE",
    "DECEASED_OLD",
    "PYRAMID_MAX_AGE",
    "PYRAMID_SCALE_YEARS",
    "Cohort",
    "age_shares",
    "make_cohort",
    "pyramid",
]

PYRAMID_MAX_AGE = 100
PYRAMID_SCALE_YEARS = 70.0
DECEASED_BASE = 0.004
DECEASED_OLD = 0.35


def pyramid() -> list[float]:
    """Population share by age 0..100: flat, then a smooth decline (≈23% under 15, ≈10% 65+)."""
    weights = [math.exp(-((a / PYRAMID_SCALE_YEARS) ** 4)) for a in range(PYRAMID_MAX_AGE + 1)]
    total = sum(weights)
    return [w / total for w in weights]


def age_shares(today: date) -> list[float]:
    """pyramid(), with the current year's cohort scaled by the part of the year gone."""
    jan1 = date(today.year, 1, 1)
    shares = pyramid()
    shares[0] *= ((today - jan1).days + 1) / ((date(today.year, 12, 31) - jan1).days + 1)
    return shares


class Cohort(NamedTuple):
    size: int
    mul: int
    add: int
    inv: int
    first_day: int
    days: int
    dead_below: float


def make_cohort(
    prefix: str, key: bytes, today: date, province_population: int, shares: list[float]
) -> Cohort:
    """The cohort of an ID prefix (province, century and sex, year) under a population key."""
    year = birth_year(prefix)
    age = today.year - year
    share = shares[age] if age <= PYRAMID_MAX_AGE else 0.0
    digest = hashlib.blake2b(prefix.encode(), key=key, person=b"cohort", digest_size=8)
    bits = int.from_bytes(digest.digest(), "little")
    mul = (bits % SERIAL_SPACE) | 1
    mul += 2 if mul % 5 == 0 else 0
    first = date(year, 1, 1)
    last = min(date(year, 12, 31), today)
    return Cohort(
        size=min(int(province_population * share * 0.5), SERIAL_SPACE),
        mul=mul,
        add=(bits >> 32) % SERIAL_SPACE,
        inv=pow(mul, -1, SERIAL_SPACE),
        first_day=first.toordinal(),
        days=(last - first).days + 1,
        dead_below=DECEASED_BASE + DECEASED_OLD * (age / 100) ** 4,
    )
