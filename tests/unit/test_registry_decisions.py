"""The registry's verdicts follow the procedural ground truth and its overlay of changes."""

from __future__ import annotations

import random

import pytest

from services.loop.runtime import DeadLetter
from services.registry.decisions import VerificationDecision, decide_verification
from services.registry.handlers import handle_verification
from services.wire.messages import CitizenChanged, Outcome, VerificationRequested
from services.wire.topics import AUDIT, reply_topic
from tests.support.inproc import make_registry

AGENCY = "province.001"


def request(
    citizen_id: str, name: str, born: str, requester: str = AGENCY
) -> VerificationRequested:
    return VerificationRequested(
        "r-1", requester, citizen_id, name, born, "public-service-dossier", "", 1
    )


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


def test_a_living_citizen_presented_correctly_matches(rng: random.Random) -> None:
    registry = make_registry()
    c = registry.population.draw_living(rng)
    assert decide_verification(
        registry, request(c.citizen_id, c.full_name, c.birth_date)
    ) == VerificationDecision(Outcome.MATCH, (), "")


def test_name_comparison_ignores_case_and_spacing(rng: random.Random) -> None:
    registry = make_registry()
    c = registry.population.draw_living(rng)
    sloppy = "  " + c.full_name.upper().replace(" ", "   ") + " "
    decided = decide_verification(registry, request(c.citizen_id, sloppy, c.birth_date))
    assert decided.outcome == Outcome.MATCH


def test_mismatch_names_every_field_that_differs(rng: random.Random) -> None:
    registry = make_registry()
    pop = registry.population
    c = pop.draw_living(rng)
    req = request(c.citizen_id, pop.wrong_name(c, rng), pop.wrong_birth_date(c, rng))
    assert decide_verification(registry, req) == VerificationDecision(
        Outcome.MISMATCH, ("full_name", "birth_date"), ""
    )


def test_unknown_and_invalid_ids_are_not_found_and_rejected(rng: random.Random) -> None:
    registry = make_registry()
    pop = registry.population
    assert (
        decide_verification(registry, request(pop.draw_unknown_id(rng), "A", "2000-01-01")).outcome
        == Outcome.NOT_FOUND
    )
    rejected = decide_verification(registry, request("12AB", "A", "2000-01-01"))
    assert rejected.outcome == Outcome.REJECTED
    assert "invalid citizen id" in rejected.reason


def test_a_death_in_the_overlay_turns_the_answer_to_deceased(rng: random.Random) -> None:
    registry = make_registry()
    c = registry.population.draw_living(rng)
    registry.overlay.apply(CitizenChanged("e", c.citizen_id, "DIED", "ministry.justice", 1))
    assert (
        decide_verification(registry, request(c.citizen_id, c.full_name, c.birth_date)).outcome
        == Outcome.DECEASED
    )


async def test_answer_goes_to_the_requesters_own_topic_with_an_audit_record(
    rng: random.Random,
) -> None:
    registry = make_registry()
    c = registry.population.draw_living(rng)
    outs = await handle_verification(request(c.citizen_id, c.full_name, c.birth_date), registry)
    assert [o.topic for o in outs] == [reply_topic(AGENCY), AUDIT.name]
    audit = outs[1].message
    assert c.citizen_id not in repr(audit)


async def test_a_requester_outside_the_topology_is_dead_lettered(rng: random.Random) -> None:
    registry = make_registry()
    with pytest.raises(DeadLetter) as info:
        await handle_verification(request("001090000001", "A", "1990-01-01", "spy.x"), registry)
    assert info.value.reason == "unknown_requester"
