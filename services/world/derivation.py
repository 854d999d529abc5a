"""A citizen's record drawn from one keyed hash of its ID: name, birth day, residence, death."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date

from services.world import refdata
from services.world.cohorts import Cohort

__all__ = ["MIGRANT_SHARE", "MIGRATION_DESTINATIONS", "Citizen", "Deriver"]

MIGRANT_SHARE = 0.17
MIGRATION_DESTINATIONS = {
    "079": 30,
    "001": 24,
    "074": 14,
    "075": 9,
    "048": 5,
    "092": 3,
    "027": 4,
    "031": 4,
    "022": 2,
    "077": 3,
    "026": 2,
}
_U24 = 2.0**-24
_U16 = 2.0**-16


@dataclass(frozen=True, slots=True)
class Citizen:
    """A citizen's record as the registry holds it (the ground truth every side can compute)."""

    citizen_id: str
    full_name: str
    sex: str
    birth_date: str
    birth_province: str
    residence_province: str
    deceased: bool


class Deriver:
    """The name and migration tables a record is drawn from, and the keyed hash that draws it."""

    def __init__(self, key: bytes) -> None:
        self.surnames = refdata.surname_table()
        self.middle = (refdata.name_table("middle", False), refdata.name_table("middle", True))
        self.given = (refdata.name_table("given", False), refdata.name_table("given", True))
        self._dests = refdata.Weighted.of(MIGRATION_DESTINATIONS)
        names = self._dests.names
        self._next_dest = {d: names[(i + 1) % len(names)] for i, d in enumerate(names)}
        self._iso_days: dict[int, str] = {}
        self._hasher = hashlib.blake2b(key=key, digest_size=20)

    def derive(self, cid: str, cohort: Cohort) -> Citizen:
        """The record of an ID that exists in `cohort`."""
        hasher = self._hasher.copy()
        hasher.update(cid.encode())
        h = int.from_bytes(hasher.digest(), "little")
        female = cid[3] in "13579"
        sur, mid, giv = self.surnames, self.middle[female], self.given[female]
        name = (
            f"{sur.names[bisect_right(sur.cum, (h & 0xFFFFFF) * _U24)]} "
            f"{mid.names[bisect_right(mid.cum, (h >> 24 & 0xFFFFFF) * _U24)]} "
            f"{giv.names[bisect_right(giv.cum, (h >> 48 & 0xFFFFFF) * _U24)]}"
        )
        day = cohort.first_day + (h >> 72 & 0xFFFFFF) % cohort.days
        born = self._iso_days.get(day) or self._iso_day(day)
        birth_province = residence = cid[:3]
        if (h >> 96 & 0xFFFF) * _U16 < MIGRANT_SHARE:
            residence = self._dests.at((h >> 112 & 0xFFFF) * _U16)
            if residence == birth_province:
                residence = self._next_dest[residence]
        return Citizen(
            citizen_id=cid,
            full_name=name,
            sex="F" if female else "M",
            birth_date=born,
            birth_province=birth_province,
            residence_province=residence,
            deceased=(h >> 128 & 0xFFFF) * _U16 < cohort.dead_below,
        )

    def _iso_day(self, day: int) -> str:
        iso = self._iso_days[day] = date.fromordinal(day).isoformat()
        return iso
