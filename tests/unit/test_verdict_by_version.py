"""An answer is judged against the truth at the version of the citizen's record it was decided
on: right under any interleaving of a death with the requests about the same citizen."""

from __future__ import annotations

import random

from loadtests.play.workload import Truth, Workload
from loadtests.scenario.parts import Errors
from services.world.population import Population

SEED = 6


def workload(errors: Errors | None = None) -> Workload:
    return Workload(Population(SEED), errors or Errors(), random.Random(SEED))


def verification(w: Workload, rid: str = "r-1") -> Truth:
    _, truth = w.verification("province.079", "079", rid, 0)
    return truth


def test_a_death_sent_while_a_verification_is_in_flight_is_judged_by_its_answers_version() -> None:
    w = workload()
    truth = verification(w)  # in flight: the one citizen asked about lately
    assert (truth.alive.outcome, truth.dead and truth.dead.outcome) == ("MATCH", "DECEASED")
    deaths = (w.death("ministry.justice", f"death-{i}", 0)[0] for i in range(64))
    event = next(e for e in deaths if e.citizen_id == truth.citizen_id)
    before = w.judge(truth, "MATCH", [], {}, version=0)
    after = w.judge(truth, "DECEASED", [], {}, version=1)
    assert before.correct and not before.raced and "version 0" in before.why
    assert after.correct and after.raced and event.event_id in after.why
    wrong = w.judge(truth, "MATCH", [], {}, version=1)
    assert not wrong.correct and wrong.expected.outcome == "DECEASED"
    assert not w.judge(truth, "DECEASED", [], {}, version=0).correct


def test_an_answer_that_does_not_say_its_version_may_be_either_state_only_after_a_death() -> None:
    w = workload()
    truth = verification(w)
    assert w.judge(truth, "MATCH", [], {}, version=-1).correct
    unexplained = w.judge(truth, "DECEASED", [], {}, version=-1)
    assert not unexplained.correct and "no death" in unexplained.why
    w.pending_deaths.add(truth.citizen_id)  # a death seen on the change feed
    told = w.judge(truth, "DECEASED", [], {}, version=-1)
    assert told.correct and "change feed" in told.why
    assert w.judge(truth, "MATCH", [], {}, version=-1).correct


def test_answers_that_do_not_depend_on_the_record_are_the_same_at_every_version() -> None:
    w = workload(Errors(no_legal_basis=1.0))
    truth = verification(w)
    assert truth.dead is None
    for version in (-1, 0, 1, 2):
        assert w.judge(truth, "REJECTED", [], {}, version).correct
        assert not w.judge(truth, "DECEASED", [], {}, version).correct


def test_a_lookup_after_the_death_releases_the_same_fields_with_deceased_true() -> None:
    w = workload()
    agreements = {"social-insurance": ("full_name", "deceased")}
    for i in range(50):
        _, truth = w.lookup("ministry.vss", agreements, f"l-{i}", 0)
        if truth.alive.outcome == "FOUND" and "deceased" in truth.alive.data:
            break
    assert truth.dead is not None
    alive = dict(truth.alive.data)
    assert alive["deceased"] == "false"
    dead = {**alive, "deceased": "true"}
    assert w.judge(truth, "DECEASED", [], dead, version=1).correct
    assert w.judge(truth, "FOUND", [], alive, version=0).correct
    stale = w.judge(truth, "FOUND", [], alive, version=1)
    assert not stale.correct and stale.expected.describe() == "DECEASED deceased,full_name"


def test_deaths_strike_citizens_asked_about_lately_and_verifications_ask_about_the_dying() -> None:
    w = workload()
    asked = {verification(w, f"r-{i}").citizen_id for i in range(400)}
    dead = {w.death("ministry.justice", f"d-{i}", 0)[0].citizen_id for i in range(40)}
    assert len(dead & asked) >= 10  # about half of the deaths
    again = [verification(w, f"v-{i}") for i in range(1000)]
    dying = [t for t in again if t.dying]
    assert dying and all(t.citizen_id in dead for t in dying)
    assert not any(t.citizen_id in dead for t in again if not t.dying)
