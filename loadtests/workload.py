"""Builds each flow's messages with deliberate faults, each with the answer it must get."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from loadtests.scenarioparts import Errors
from services.shared.messages import (
    CivilStatusRegistered,
    DossierSubmitted,
    LookupRequested,
    VerificationRequested,
)
from services.shared.population import Citizen, Population
from services.shared.refdata import essential_services

KNOWN_PER_AGENCY = 10_000
VERIFY_PURPOSE = "public-service-dossier"
NO_BASIS_PURPOSE = "marketing-campaign"
SHAREABLE = ("full_name", "sex", "birth_date", "birth_province", "residence_province", "deceased")


@dataclass(frozen=True, slots=True)
class Expected:
    """The ground truth a correct registry answer must match."""

    outcome: str
    fields: tuple[str, ...] = ()
    data: dict[str, str] = field(default_factory=dict)

    def matches(self, outcome: str, fields: list[str], data: dict[str, str]) -> bool:
        return (
            outcome == self.outcome and tuple(sorted(fields)) == self.fields and data == self.data
        )


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class Workload:
    """Draws citizens and faults for requests; every request carries its expected answer."""

    def __init__(
        self,
        population: Population,
        errors: Errors,
        rng: random.Random,
        returning: float = 0.0,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        self.population, self.rng, self.errors = population, rng, errors
        self.owns = owns  # citizens this side may draw (a worker's share); all when None
        self.returning = returning
        self.known: dict[str, deque[Citizen]] = {}  # per agency: citizens it verified before
        e = errors
        shares = [
            ("wrong_name", e.wrong_name),
            ("wrong_birth_date", e.wrong_birth_date),
            ("unknown_id", e.unknown_id),
            ("invalid_id", e.invalid_id),
            ("no_legal_basis", e.no_legal_basis),
        ]
        cut, self._cuts = 0.0, []
        for name, share in shares:
            cut += share
            self._cuts.append((name, cut))
        self.services = [s.code for s in essential_services() if s.needs_population_data]
        self.deceased_pool: list[Citizen] = []  # deaths the registry has confirmed
        # Citizens with a change on record (or on the way): their answers are no longer
        # procedural, so they are not drawn except from deceased_pool.
        self.pending_deaths: set[str] = set()

    def _free(self, citizen_id: str) -> bool:
        owned = self.owns is None or self.owns(citizen_id)
        return owned and citizen_id not in self.pending_deaths

    def fault(self) -> str:
        u = self.rng.random()
        return next((name for name, cut in self._cuts if u < cut), "none")

    def _citizen(self, province: str | None) -> Citizen:
        while True:
            citizen = self.population.draw_existing(self.rng, province)
            if self._free(citizen.citizen_id):
                return citizen

    def _known(self, agency: str, province: str | None) -> Citizen:
        """A citizen the agency asked about before (the returning share), else a new one."""
        seen = self.known.setdefault(agency, deque(maxlen=KNOWN_PER_AGENCY))
        if seen and self.returning and self.rng.random() < self.returning:
            citizen = self.rng.choice(seen)
            if citizen.citizen_id not in self.pending_deaths:
                return citizen
        citizen = self._citizen(province)
        seen.append(citizen)
        return citizen

    def verification(
        self,
        agency: str,
        province: str | None,
        request_id: str,
        intended_us: int,
        service_code: str = "",
    ) -> tuple[VerificationRequested, Expected]:
        fault, pop, rng = self.fault(), self.population, self.rng
        purpose = NO_BASIS_PURPOSE if fault == "no_legal_basis" else VERIFY_PURPOSE
        if fault == "invalid_id":
            cid, name, born, expected = (
                pop.draw_invalid_id(rng),
                "Nguyễn Văn An",
                "1990-01-01",
                Expected("REJECTED"),
            )
        elif fault == "unknown_id":
            cid, name, born = pop.draw_unknown_id(rng, province), "Trần Thị Bình", "1985-05-05"
            expected = Expected("NOT_FOUND")
        else:
            use_dead = self.deceased_pool and rng.random() < 0.05
            citizen = rng.choice(self.deceased_pool) if use_dead else self._known(agency, province)
            cid, name, born = citizen.citizen_id, citizen.full_name, citizen.birth_date
            if fault == "wrong_name":
                name = pop.wrong_name(citizen, rng)
            elif fault == "wrong_birth_date":
                born = pop.wrong_birth_date(citizen, rng)
            expected = (
                Expected("REJECTED")
                if fault == "no_legal_basis"
                else (
                    Expected("DECEASED")
                    if citizen.deceased or use_dead
                    else Expected("MISMATCH", ("full_name",))
                    if fault == "wrong_name"
                    else Expected("MISMATCH", ("birth_date",))
                    if fault == "wrong_birth_date"
                    else Expected("MATCH")
                )
            )
        request = VerificationRequested(
            request_id, agency, cid, name, born, purpose, service_code, intended_us
        )
        return request, expected

    def lookup(
        self,
        agency: str,
        agreements: Mapping[str, tuple[str, ...]],
        request_id: str,
        intended_us: int,
    ) -> tuple[LookupRequested, Expected]:
        """Asks for the agreed fields plus one more; only the agreed ones may come back."""
        rng = self.rng
        agreed: tuple[str, ...]
        if not agreements or rng.random() < self.errors.unauthorised_lookup:
            purpose, agreed = NO_BASIS_PURPOSE, ()
        else:
            purpose = rng.choice(sorted(agreements))
            agreed = agreements[purpose]
        asked = sorted({*agreed, rng.choice(SHAREABLE)})
        if rng.random() < self.errors.unknown_id:
            cid = self.population.draw_unknown_id(rng)
            expected = Expected("REFUSED") if not agreed else Expected("NOT_FOUND")
        else:
            citizen = self._citizen(None)
            cid = citizen.citizen_id
            data = {f: _text(getattr(citizen, f)) for f in asked if f in agreed}
            found = "DECEASED" if citizen.deceased else "FOUND"
            expected = Expected("REFUSED") if not agreed else Expected(found, data=data)
        return LookupRequested(request_id, agency, cid, purpose, asked, intended_us), expected

    def dossier(
        self, province_agency: str, code: str, dossier_id: str, channel: str, intended_us: int
    ) -> tuple[DossierSubmitted, str]:
        """A dossier for one of the essential services; returns it with its service code."""
        service = self.rng.choice(self.services)
        ref = f"{self.rng.getrandbits(64):016x}"
        return DossierSubmitted(
            dossier_id, province_agency, service, channel, ref, intended_us
        ), service

    def death(
        self, source: str, event_id: str, intended_us: int
    ) -> tuple[CivilStatusRegistered, Citizen]:
        """A death of a living citizen, reported by the civil-status authority."""
        while True:
            citizen = self.population.draw_living(self.rng)
            if self._free(citizen.citizen_id):
                break
        self.pending_deaths.add(citizen.citizen_id)
        event = CivilStatusRegistered(event_id, citizen.citizen_id, "DEATH", source, intended_us)
        return event, citizen
