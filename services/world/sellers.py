"""E-commerce sellers as platforms know them: procedural like citizens, so every item of a bulk
job has a right answer that follows from (seed, job, platform, index) alone.

Assumptions (no source gives these): an individual seller is a living adult; an enterprise is
verified through its legal representative, also a living adult; the faults a platform's data
carries are the verification faults (a misspelt name, a wrong birth date, an id nobody has, a
malformed id) plus a seller whose person has died.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from services.world.citizen_id import SIM_TODAY
from services.world.derivation import Citizen
from services.world.population import Population

__all__ = ["ADULT_AGE", "ENTERPRISE", "INDIVIDUAL", "SELLER_FAULTS", "Seller", "Sellers"]

INDIVIDUAL, ENTERPRISE = "INDIVIDUAL", "ENTERPRISE"
SELLER_FAULTS = ("wrong_name", "wrong_birth_date", "unknown_id", "invalid_id", "deceased")
ADULT_AGE = 18
DECEASED_TRIES = 10_000  # draws to find a deceased person (a few percent of records are)


@dataclass(frozen=True, slots=True)
class Seller:
    """One seller as its platform shares it, with the answer the registry must give."""

    seller_ref: str
    platform: str
    kind: str
    citizen_id: str
    full_name: str
    birth_date: str
    tax_code: str
    fault: str  # "none" or one of SELLER_FAULTS
    expected: str  # the outcome a correct registry gives on the procedural record
    mismatched: tuple[str, ...] = ()

    @property
    def taxable(self) -> bool:
        """The tax authority can assess a seller whose identity verifies."""
        return self.expected == "MATCH"


class Sellers:
    """Draws the sellers of one bulk job; `faults` maps a fault of SELLER_FAULTS to its share."""

    def __init__(self, population: Population, seed: int, faults: Mapping[str, float]) -> None:
        unknown = sorted(set(faults) - set(SELLER_FAULTS))
        if unknown:
            raise ValueError(f"unknown seller faults: {', '.join(unknown)}")
        if sum(faults.values()) > 1:
            raise ValueError("seller fault shares add up to more than 1")
        self.population, self.seed = population, seed
        cut, self._cuts = 0.0, []
        for name in SELLER_FAULTS:
            cut += faults.get(name, 0.0)
            self._cuts.append((name, cut))
        self._born_by = f"{SIM_TODAY.year - ADULT_AGE}-{SIM_TODAY:%m-%d}"

    def seller(self, job: str, platform: str, index: int, kind: str) -> Seller:
        """The index-th seller of a platform in a job: the same on every side of a run."""
        rng = random.Random(f"{self.seed}:seller:{job}:{platform}:{index}")
        u = rng.random()
        fault = next((name for name, cut in self._cuts if u < cut), "none")
        pop = self.population
        tax_code = f"{rng.randrange(10**9, 10**10)}" if kind == ENTERPRISE else ""
        ref = f"{job}:{platform.removeprefix('platform.')}:{index:x}"
        if fault == "invalid_id":
            cid = pop.draw_invalid_id(rng)
            return Seller(
                ref, platform, kind, cid, "Nguyễn Văn An", "1990-01-01", tax_code, fault, "REJECTED"
            )
        if fault == "unknown_id":
            cid = pop.draw_unknown_id(rng)
            return Seller(
                ref,
                platform,
                kind,
                cid,
                "Trần Thị Bình",
                "1985-05-05",
                tax_code,
                fault,
                "NOT_FOUND",
            )
        person = self._deceased(rng) if fault == "deceased" else self._adult(rng)
        if person is None:  # no deceased record found: an honest seller instead
            fault, person = "none", self._adult(rng)
        name, born = person.full_name, person.birth_date
        expected = "MATCH"
        mismatched: tuple[str, ...] = ()
        if fault == "wrong_name":
            name, expected, mismatched = pop.wrong_name(person, rng), "MISMATCH", ("full_name",)
        elif fault == "wrong_birth_date":
            born = pop.wrong_birth_date(person, rng)
            expected, mismatched = "MISMATCH", ("birth_date",)
        elif fault == "deceased":
            expected = "DECEASED"
        return Seller(
            ref,
            platform,
            kind,
            person.citizen_id,
            name,
            born,
            tax_code,
            fault,
            expected,
            mismatched,
        )

    def _adult(self, rng: random.Random) -> Citizen:
        while True:
            person = self.population.draw_living(rng)
            if person.birth_date <= self._born_by:
                return person

    def _deceased(self, rng: random.Random) -> Citizen | None:
        for _ in range(DECEASED_TRIES):
            person = self.population.draw_existing(rng)
            if person.deceased and person.birth_date <= self._born_by:
                return person
        return None
