"""A ministry's replica answers held citizens as the registry would and never un-dies anyone."""

from __future__ import annotations

from services.ministry.replica import CitizenReplica
from services.wire.messages import CitizenChanged, VerificationAnswered, VerificationRequested

PURPOSE = "public-service-dossier"


def ask(
    cid: str, name: str = "Nguyễn Văn An", born: str = "1990-01-01", purpose: str = PURPOSE
) -> VerificationRequested:
    return VerificationRequested(f"r-{cid}", "ministry.vss", cid, name, born, purpose, "", 0)


def told(req: VerificationRequested, outcome: str) -> VerificationAnswered:
    return VerificationAnswered(req.request_id, req.requester, "registry", outcome, 1)


def replica(capacity: int = 10) -> CitizenReplica:
    return CitizenReplica("ministry.vss", frozenset({PURPOSE}), capacity)


def test_a_citizen_the_registry_matched_is_answered_from_the_replica_next_time() -> None:
    r = replica()
    first = ask("001090000001")
    assert r.answer(first, 5) is None
    r.learn(first, told(first, "MATCH"))
    again = r.answer(ask("001090000001", name="nguyễn  văn an"), 6)
    assert again is not None and again.outcome == "MATCH"
    assert again.responder == "ministry.vss.replica"
    assert (r.hits, r.misses) == (1, 1)


def test_the_replica_names_the_fields_that_differ_like_the_registry() -> None:
    r = replica()
    first = ask("001090000001")
    r.learn(first, told(first, "MATCH"))
    wrong = r.answer(ask("001090000001", name="Trần Thị Bình", born="1991-01-01"), 6)
    assert wrong is not None
    assert (wrong.outcome, wrong.mismatched_fields) == ("MISMATCH", ["full_name", "birth_date"])


def test_a_death_on_the_change_feed_wins_over_a_late_match() -> None:
    r = replica()
    req = ask("001090000001")
    r.apply(CitizenChanged("e1", req.citizen_id, "DIED", "ministry.justice", 1, "", True))
    r.learn(req, told(req, "MATCH"))  # an answer written before the death, read after it
    answer = r.answer(req, 7)
    assert answer is not None and answer.outcome == "DECEASED"
    assert r.knows_death(req.citizen_id)


def test_mismatches_and_other_purposes_are_left_to_the_registry() -> None:
    r = replica()
    req = ask("001090000001")
    r.learn(req, told(req, "MISMATCH"))
    assert r.answer(req, 1) is None
    r.learn(req, told(req, "MATCH"))
    assert r.answer(ask("001090000001", purpose="marketing-campaign"), 1) is None


def test_the_replica_keeps_at_most_its_capacity_dropping_the_least_recent() -> None:
    r = replica(capacity=2)
    for n in range(3):
        req = ask(f"00109000000{n}")
        r.learn(req, told(req, "MATCH"))
    assert len(r) == 2
    assert r.answer(ask("001090000000"), 1) is None
