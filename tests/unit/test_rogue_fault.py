"""A rogue_agency directive names who misbehaves and against whom; its record says what each
forbidden attempt met."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from loadtests.report import FaultRecord, RogueAttempt
from loadtests.scenario.parts import RogueAgency


def test_a_rogue_agency_needs_an_agency_and_another_agency_as_its_victim() -> None:
    ok = RogueAgency(at_s=1, agency="province.001", victim="province.079")
    assert (ok.agency, ok.victim) == ("province.001", "province.079")
    for bad in (
        {},
        {"agency": "province.001"},
        {"agency": "province.001", "victim": "province.001"},
    ):
        with pytest.raises(ValidationError, match="rogue_agency needs"):
            RogueAgency(at_s=1, **bad)


def test_the_fault_record_shows_each_attempt_and_flags_one_that_was_not_denied() -> None:
    record = FaultRecord(
        action="rogue_agency",
        period="p",
        at_s=1,
        recovered_s=2,
        agency="province.001",
        victim="province.079",
        attempts=[
            RogueAttempt(action="write_changes", denied=True, result="denied by the broker"),
            RogueAttempt(action="create_topic", denied=False, result="ALLOWED"),
        ],
    )

    shown = record.detail()
    assert "write_changes: denied (denied by the broker)" in shown
    assert "create_topic: NOT DENIED (ALLOWED)" in shown
    assert "victim province.079" in shown
