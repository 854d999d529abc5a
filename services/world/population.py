"""A procedural population: every record follows from (seed, ID), so 100 M citizens cost no memory.

Assumptions (no source gives these; each is a named constant in cohorts.py or derivation.py):
- existence: a cohort (birth province, birth year, sex) holds N = province population ×
  pyramid()[age] × 1/2 records, age = today's year − birth year (0..100; nobody older exists;
  the current year's cohort is scaled by the part of the year gone). The serials whose rank under
  a keyed affine permutation of 0..999999 is below N exist; all others are unknown;
- a cohort is sized from today's population of the birth province (births ∝ population);
- MIGRANT_SHARE of citizens, at any age, live outside their birth province, in
  MIGRATION_DESTINATIONS (weights);
- the deceased share of records rises with age: DECEASED_BASE + DECEASED_OLD × (age/100)^4;
- a surname row with a spelling variant (Hoàng/Huỳnh, Vũ/Võ) splits its share evenly.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta

from services.world import refdata
from services.world.citizen_id import (
    ID_LENGTH,
    MAX_AGE,
    SERIAL_SPACE,
    SIM_TODAY,
    InvalidCitizenId,
    century_digit,
    id_problem,
    is_valid_id,
    mask_id,
    normalise_name,
    validate_id,
)
from services.world.cohorts import Cohort, age_shares, make_cohort
from services.world.derivation import Citizen, Deriver

__all__ = [
    "SIM_TODAY",
    "Citizen",
    "InvalidCitizenId",
    "Population",
    "id_problem",
    "is_valid_id",
    "mask_id",
    "normalise_name",
    "validate_id",
]


class Population:
    """Derives records on demand; keeps only per-cohort constants, never per-citizen state."""

    def __init__(self, seed: int, today: date = SIM_TODAY) -> None:
        self.seed = seed
        self.today = today
        self._key = hashlib.blake2b(f"ndxsim-population:{seed}".encode(), digest_size=32).digest()
        provinces = refdata.provinces_63()
        self._population = {p.code: p.population for p in provinces}
        self._codes = refdata.Weighted.of({p.code: p.population for p in provinces})
        self._unknown_codes = [
            f"{n:03d}" for n in range(1000) if f"{n:03d}" not in self._population
        ]
        self._shares = shares = age_shares(today)
        self._ages = refdata.Weighted.of({str(a): s for a, s in enumerate(shares)})
        self._deriver = deriver = Deriver(self._key)
        self._surnames, self._middle, self._given = deriver.surnames, deriver.middle, deriver.given
        self._cohorts: dict[str, Cohort] = {}

    def citizen(self, citizen_id: str) -> Citizen | None:
        """The record for a valid ID, or None when no such citizen exists."""
        cohort = self._cohorts.get(citizen_id[:6]) if len(citizen_id) == ID_LENGTH else None
        if cohort is None or not (citizen_id.isascii() and citizen_id.isdigit()):
            validate_id(citizen_id, self.today)
            cohort = self._cohort(citizen_id[:6])
        rank = (cohort.mul * int(citizen_id[6:]) + cohort.add) % SERIAL_SPACE
        return self._deriver.derive(citizen_id, cohort) if rank < cohort.size else None

    def draw_existing(self, rng: random.Random, province: str | None = None) -> Citizen:
        """A citizen who exists (alive or not), born in `province`, else in one ∝ population."""
        prefix, cohort = self._draw_cohort(rng, province)
        serial = (rng.randrange(cohort.size) - cohort.add) * cohort.inv % SERIAL_SPACE
        return self._deriver.derive(f"{prefix}{serial:06d}", cohort)

    def draw_living(self, rng: random.Random, province: str | None = None) -> Citizen:
        """A citizen who exists and is alive."""
        while True:
            c = self.draw_existing(rng, province)
            if not c.deceased:
                return c

    def draw_unknown_id(self, rng: random.Random, province: str | None = None) -> str:
        """A valid ID that belongs to nobody: a serial ranked past its cohort's size."""
        prefix, cohort = self._draw_cohort(rng, province)
        serial = (rng.randrange(cohort.size, SERIAL_SPACE) - cohort.add) * cohort.inv % SERIAL_SPACE
        return f"{prefix}{serial:06d}"

    def draw_invalid_id(self, rng: random.Random) -> str:
        """An ID that fails validate_id, for one of several reasons chosen at random."""
        year = self.today.year - int(self._ages.at(rng.random()))
        female = rng.random() < 0.5
        good = f"{self._codes.at(rng.random())}{century_digit(year, female)}{year % 100:02d}"
        good += f"{rng.randrange(SERIAL_SPACE):06d}"
        kind = rng.randrange(5)
        if kind == 0:
            n = rng.choice([*range(ID_LENGTH), *range(ID_LENGTH + 1, 20)])
            return "".join(rng.choice("0123456789") for _ in range(n))
        if kind == 1:
            i = rng.randrange(ID_LENGTH)
            return good[:i] + rng.choice("AOIlxZ -./_\u0661\uff11") + good[i + 1 :]
        if kind == 2:
            return rng.choice(self._unknown_codes) + good[3:]
        oldest = self.today.year - MAX_AGE - 1
        if kind == 3 and oldest >= 1900:
            year = rng.randint(1900, oldest)
        else:
            year = rng.randint(self.today.year + 1, max(self.today.year + 1, 2399))
        return f"{good[:3]}{century_digit(year, female)}{year % 100:02d}{good[6:]}"

    def wrong_name(self, c: Citizen, rng: random.Random) -> str:
        """A plausible name for the same sex that differs from the record after normalising."""
        parts = c.full_name.split(" ")
        female = c.sex == "F"
        target = normalise_name(c.full_name)
        while True:
            sur, mid, giv = parts[0], " ".join(parts[1:-1]), parts[-1]
            kind = rng.randrange(4)
            if kind == 0:
                sur = self._surnames.at(rng.random())
            elif kind == 1:
                mid = self._middle[female].at(rng.random())
            else:
                giv = self._given[female].at(rng.random())
            candidate = " ".join(p for p in (sur, mid, giv) if p)
            if normalise_name(candidate) != target:
                return candidate

    def wrong_birth_date(self, c: Citizen, rng: random.Random) -> str:
        """A nearby, year-slipped or day/month-swapped date that is not the record's."""
        d = date.fromisoformat(c.birth_date)
        kind = rng.randrange(3)
        cand = d + timedelta(days=rng.choice((-1, 1)) * rng.randint(1, 30))
        if kind == 1 and d.day <= 12:
            cand = date(d.year, d.day, d.month)
        elif kind == 2:
            cand = date(d.year + rng.choice((-1, 1)), d.month, min(d.day, 28))
        if cand == d or cand > self.today:
            cand = d - timedelta(days=rng.randint(1, 30))
        return cand.isoformat()

    def _draw_cohort(self, rng: random.Random, province: str | None) -> tuple[str, Cohort]:
        if province is None:
            province = self._codes.at(rng.random())
        elif province not in self._population:
            raise ValueError(f"unknown province code {province!r}")
        while True:
            year = self.today.year - int(self._ages.at(rng.random()))
            prefix = f"{province}{century_digit(year, rng.random() < 0.5)}{year % 100:02d}"
            cohort = self._cohort(prefix)
            if cohort.size > 0:
                return prefix, cohort

    def _cohort(self, prefix: str) -> Cohort:
        cohort = self._cohorts.get(prefix)
        if cohort is None:
            cohort = self._cohorts[prefix] = make_cohort(
                prefix, self._key, self.today, self._population[prefix[:3]], self._shares
            )
        return cohort
