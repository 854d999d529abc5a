"""A period's start command leads it by as little as the workers need: the first by the full
lead, later ones by a lead fitted to how late the slowest worker heard the last one."""

from __future__ import annotations

import pytest

from loadtests.workers.coordinator import LEAD_SPARE, MIN_LEAD_S, START_LEAD_S, fitted_lead


def test_workers_that_heard_the_command_at_once_get_the_floor_lead_next_time() -> None:
    assert fitted_lead(START_LEAD_S, [START_LEAD_S - 0.01, START_LEAD_S - 0.03]) == MIN_LEAD_S


def test_the_slowest_worker_sets_the_next_lead_with_room_to_spare() -> None:
    lead = fitted_lead(START_LEAD_S, [1.9, START_LEAD_S - 0.4])
    assert lead == pytest.approx(LEAD_SPARE * 0.4)


def test_a_worker_that_heard_it_late_or_after_the_start_brings_back_the_full_lead() -> None:
    assert fitted_lead(0.5, [-0.7]) == START_LEAD_S  # heard 0.7 s after the start it was given
    assert fitted_lead(0.5, [0.1]) == pytest.approx(min(START_LEAD_S, LEAD_SPARE * 0.4))


def test_without_word_from_any_worker_the_full_lead_stays() -> None:
    assert fitted_lead(MIN_LEAD_S, []) == START_LEAD_S
