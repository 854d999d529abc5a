"""Builds each flow's messages with deliberate faults, each with the answer it must get."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from loadtests.scenario import Errors
from services.wire import (
    CivilStatusRegistered,
    DossierSubmitted,
    LookupRequested,
    VerificationRequested,
)
from services.world import Citizen, Population, essential_services

KNOWN_PER_AGENCY = 10_000
VERIFY_PURPOSE = "public-service-dossier"
NO_BASIS_PURPOSE = "marketing-campaign"
SHAREABLE = ("full_name", "sex", "birth_date", "birth_province", "residence_province", "deceased")
RECENT = 2_000  # living citizens asked about lately, from which deaths are often drawn
RECENT_DEATHS = 0.5  # share of deaths that strike one of them (their request may be in flight)
DYING_SHARE = 0.05  # share of verifications and lookups about a citizen whose death was sent


@dataclass(frozen=True, slots=True)
class Expected:
    """One answer a correct registry may give."""

    outcome: str
    fields: tuple[str, ...] = ()
    data: dict[str, str] = field(default_factory=dict)

    def matches(self, outcome: str, fields: list[str], data: dict[str, str]) -> bool:
        return (
            outcome == self.outcome and tuple(sorted(fields)) == self.fields and data == self.data
        )

    def describe(self) -> str:
        """Outcome and field names, never their values (names and dates are personal data)."""
        named = self.fields or tuple(sorted(self.data))
        return " ".join((self.outcome, ",".join(named))).strip()


@dataclass(frozen=True, slots=True)
class Truth:
    """What a request must get back, by the version of the citizen's record it is decided on.

    The only changes the load side makes are deaths, so a record has two states: version 0,
    the procedural record (`alive`), and any version after a death was applied (`dead`).
    `dead` is None when the answer does not depend on the record (an invalid or unknown id, no
    legal basis, a refused lookup). `dying`: a death of the citizen had already been sent when
    the request was built."""

    citizen_id: str
    alive: Expected
    dead: Expected | None
    basis: str  # how the request was built, in words
    dying: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """An answer judged against the truth at the version it was decided on."""

    correct: bool
    expected: Expected
    why: str
    raced: bool = False  # decided after a death sent while the request was in flight


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _answer_if_dead(alive: Expected) -> Expected:
    """The same request once the citizen's death is applied: the registry says DECEASED, and a
    lookup's released fields say so too (a death changes nothing else of the record)."""
    data = {f: "true" if f == "deceased" else v for f, v in alive.data.items()}
    return Expected("DECEASED", data=data)


class Workload:
    """Draws citizens and faults for requests; every request carries the truth it is judged by.

    Deaths and the requests about the same citizens interleave on purpose: a share of deaths
    strikes a citizen this side asked about recently (whose request may still be in flight),
    and a share of verifications asks about a citizen whose death was sent (confirmed or not).
    The verdict takes the version of the record each answer was decided on, so whichever of
    the two the registry applied first, the answer is judged against the right truth."""

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
        self.dying: list[Citizen] = []  # citizens this side sent a death for, in order
        self.deaths_sent: dict[str, str] = {}  # citizen id -> the civil event that reported it
        self.recent: deque[Citizen] = deque(maxlen=RECENT)  # living citizens asked about lately
        # Citizens with a change on record or on the way (sent here, or seen on the change
        # feed): no longer drawn as procedural, only from `dying`. Shared with the ChangeWatch.
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
                if not citizen.deceased:
                    self.recent.append(citizen)
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

    def _dying(self) -> Citizen | None:
        """Now and then a citizen whose death this side sent, applied by now or not."""
        if self.dying and self.rng.random() < DYING_SHARE:
            return self.rng.choice(self.dying)
        return None

    def judge(
        self, truth: Truth, outcome: str, fields: list[str], data: dict[str, str], version: int
    ) -> Verdict:
        """The answer against the truth at the version of the record it was decided on: version
        0 is the procedural record, any later version follows a death (the only change the
        load side makes). An answer that does not say its version (an older writer, a
        ministry's replica) is right if it is the truth at some version the citizen had."""

        def verdict(expected: Expected, why: str, raced: bool = False) -> Verdict:
            correct = expected.matches(outcome, fields, data)
            return Verdict(correct, expected, why, raced and correct)

        if truth.dead is None:
            return verdict(truth.alive, f"{truth.basis}: the same at every version")
        cid = truth.citizen_id
        if cid in self.deaths_sent:
            death = f"the death sent here as event {self.deaths_sent[cid]}"
        elif cid in self.pending_deaths:
            death = "a death seen on the change feed"
        else:
            death = None
        if version == 0:
            return verdict(truth.alive, f"version 0, no change applied: {truth.basis}")
        if version > 0:
            told = death or "a death this side neither sent nor saw (an earlier run or step)"
            why = f"version {version}, after {told}: DECEASED"
            return verdict(truth.dead, why, raced=not truth.dying)
        if death is None:
            return verdict(truth.alive, f"version unsaid, no death of this citizen: {truth.basis}")
        if truth.dead.matches(outcome, fields, data):
            return verdict(truth.dead, f"version unsaid, after {death}", raced=not truth.dying)
        return verdict(truth.alive, f"version unsaid, before {death}: {truth.basis}")

    def verification(
        self,
        agency: str,
        province: str | None,
        request_id: str,
        intended_us: int,
        service_code: str = "",
    ) -> tuple[VerificationRequested, Truth]:
        fault, pop, rng = self.fault(), self.population, self.rng
        purpose = NO_BASIS_PURPOSE if fault == "no_legal_basis" else VERIFY_PURPOSE
        dead: Expected | None
        if fault == "invalid_id":
            cid, name, born = pop.draw_invalid_id(rng), "Nguyễn Văn An", "1990-01-01"
            alive, dead, basis, dying = Expected("REJECTED"), None, "an invalid id", False
        elif fault == "unknown_id":
            cid, name, born = pop.draw_unknown_id(rng, province), "Trần Thị Bình", "1985-05-05"
            alive, dead, basis, dying = Expected("NOT_FOUND"), None, "an id nobody has", False
        else:
            chosen = self._dying()
            dying = chosen is not None
            citizen = chosen or self._known(agency, province)
            cid, name, born = citizen.citizen_id, citizen.full_name, citizen.birth_date
            if fault == "wrong_name":
                name = pop.wrong_name(citizen, rng)
            elif fault == "wrong_birth_date":
                born = pop.wrong_birth_date(citizen, rng)
            if fault == "no_legal_basis":
                alive, dead = Expected("REJECTED"), None
                basis = "no legal basis for the purpose"
            elif citizen.deceased:
                alive = dead = Expected("DECEASED")
                basis = "the procedural record says deceased"
            else:
                alive = (
                    Expected("MISMATCH", ("full_name",))
                    if fault == "wrong_name"
                    else Expected("MISMATCH", ("birth_date",))
                    if fault == "wrong_birth_date"
                    else Expected("MATCH")
                )
                dead = Expected("DECEASED")
                basis = "the procedural record" + (f", presented with {fault}" * (fault != "none"))
        request = VerificationRequested(
            request_id, agency, cid, name, born, purpose, service_code, intended_us
        )
        return request, Truth(cid, alive, dead, basis, dying)

    def lookup(
        self,
        agency: str,
        agreements: Mapping[str, tuple[str, ...]],
        request_id: str,
        intended_us: int,
    ) -> tuple[LookupRequested, Truth]:
        """Asks for the agreed fields plus one more; only the agreed ones may come back."""
        rng = self.rng
        agreed: tuple[str, ...]
        if not agreements or rng.random() < self.errors.unauthorised_lookup:
            purpose, agreed = NO_BASIS_PURPOSE, ()
        else:
            purpose = rng.choice(sorted(agreements))
            agreed = agreements[purpose]
        asked = sorted({*agreed, rng.choice(SHAREABLE)})
        dead: Expected | None = None
        dying = False
        if rng.random() < self.errors.unknown_id:
            cid = self.population.draw_unknown_id(rng)
            alive = Expected("REFUSED") if not agreed else Expected("NOT_FOUND")
            basis = "no agreement for the purpose" if not agreed else "an id nobody has"
        else:
            chosen = self._dying()
            dying = chosen is not None
            citizen = chosen or self._citizen(None)
            cid = citizen.citizen_id
            data = {f: _text(getattr(citizen, f)) for f in asked if f in agreed}
            found = "DECEASED" if citizen.deceased else "FOUND"
            if not agreed:
                alive, basis = Expected("REFUSED"), "no agreement for the purpose"
            else:
                alive = Expected(found, data=data)
                dead = _answer_if_dead(alive)
                basis = "the procedural record, agreed fields only"
        request = LookupRequested(request_id, agency, cid, purpose, asked, intended_us)
        return request, Truth(cid, alive, dead, basis, dying)

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
        """A death of a living citizen, reported by the civil-status authority: often one this
        side asked about lately, whose request may still be in flight."""
        citizen = None
        if self.recent and self.rng.random() < RECENT_DEATHS:
            candidate = self.recent[self.rng.randrange(len(self.recent))]
            if self._free(candidate.citizen_id):
                citizen = candidate
        while citizen is None:
            drawn = self.population.draw_living(self.rng)
            if self._free(drawn.citizen_id):
                citizen = drawn
        self.pending_deaths.add(citizen.citizen_id)
        self.deaths_sent[citizen.citizen_id] = event_id
        self.dying.append(citizen)
        event = CivilStatusRegistered(event_id, citizen.citizen_id, "DEATH", source, intended_us)
        return event, citizen
