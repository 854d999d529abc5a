"""Builds requests with deliberate faults, each with the answer the population says it must get."""

from __future__ import annotations

import random
from dataclasses import dataclass

from loadtests.scenario import Errors
from services.registry.population import Population
from services.shared.messages import VerificationRequested

VERIFY_PURPOSE = "public-service-dossier"


@dataclass(frozen=True, slots=True)
class Expected:
    """The ground truth a correct registry answer must match."""

    outcome: str
    fields: tuple[str, ...] = ()

    def matches(self, outcome: str, fields: list[str]) -> bool:
        return outcome == self.outcome and tuple(sorted(fields)) == self.fields


class Workload:
    """Draws citizens and faults for requests; every request carries its expected answer."""

    def __init__(self, population: Population, errors: Errors, rng: random.Random) -> None:
        self.population, self.rng = population, rng
        e = errors
        self._cuts = (
            ("wrong_name", e.wrong_name),
            ("wrong_birth_date", e.wrong_name + e.wrong_birth_date),
            ("unknown_id", e.wrong_name + e.wrong_birth_date + e.unknown_id),
            ("invalid_id", e.wrong_name + e.wrong_birth_date + e.unknown_id + e.invalid_id),
        )

    def fault(self) -> str:
        u = self.rng.random()
        for name, cut in self._cuts:
            if u < cut:
                return name
        return "none"

    def verification(
        self, agency: str, province: str | None, request_id: str, intended_us: int
    ) -> tuple[VerificationRequested, Expected]:
        fault = self.fault()
        pop, rng = self.population, self.rng
        if fault == "invalid_id":
            citizen_id, name, born = pop.draw_invalid_id(rng), "Nguyễn Văn An", "1990-01-01"
            expected = Expected("REJECTED")
        elif fault == "unknown_id":
            citizen_id, name, born = (
                pop.draw_unknown_id(rng, province),
                "Trần Thị Bình",
                "1985-05-05",
            )
            expected = Expected("NOT_FOUND")
        else:
            citizen = pop.draw_existing(rng, province)
            citizen_id, name, born = citizen.citizen_id, citizen.full_name, citizen.birth_date
            if fault == "wrong_name":
                name = pop.wrong_name(citizen, rng)
            elif fault == "wrong_birth_date":
                born = pop.wrong_birth_date(citizen, rng)
            if citizen.deceased:
                expected = Expected("DECEASED")
            elif fault == "wrong_name":
                expected = Expected("MISMATCH", ("full_name",))
            elif fault == "wrong_birth_date":
                expected = Expected("MISMATCH", ("birth_date",))
            else:
                expected = Expected("MATCH")
        request = VerificationRequested(
            request_id=request_id,
            requester=agency,
            citizen_id=citizen_id,
            full_name=name,
            birth_date=born,
            purpose=VERIFY_PURPOSE,
            service_code="",
            requested_at_us=intended_us,
        )
        return request, expected
