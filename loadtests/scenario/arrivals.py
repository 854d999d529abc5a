"""Arrival times of an open model: a Poisson process over the diurnal profile, count fixed."""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate

from loadtests.scenario.parts import Diurnal

HOUR = 3600.0


def _pieces(
    duration: float, compression: float, diurnal: Diurnal
) -> list[tuple[float, float, float]]:
    """(start, end, weight) in played seconds, cut where the simulated hour changes."""
    pieces = []
    t = 0.0
    sim = diurnal.start_hour * HOUR
    while t < duration:
        hour = int(sim // HOUR)
        next_sim = (hour + 1) * HOUR
        end = min(duration, t + (next_sim - sim) / compression)
        pieces.append((t, end, diurnal.factor(hour) * (end - t)))
        sim += (end - t) * compression
        t = end
    return pieces


def expected_count(rate: float, duration: float, compression: float, diurnal: Diurnal) -> float:
    """Arrivals the period should hold: the mean rate weighted by the profile over the window."""
    return rate * sum(w for _, _, w in _pieces(duration, compression, diurnal))


def arrival_times(
    rate: float,
    duration: float,
    compression: float,
    diurnal: Diurnal,
    rng: random.Random,
    limit: int | None = None,
) -> list[float]:
    """Sorted offsets in played seconds.

    Given its count, a Poisson process places its points independently with the rate's density;
    fixing the count to its expectation keeps the open model while the volume a period plays,
    and so the growth between periods, is not left to chance.
    """
    pieces = [p for p in _pieces(duration, compression, diurnal) if p[2] > 0]
    count = round(rate * sum(w for _, _, w in pieces))
    if limit is not None:
        count = min(count, limit)
    if not pieces or count <= 0:
        return []
    cumulative = list(accumulate(w for _, _, w in pieces))
    total = cumulative[-1]
    times = []
    for _ in range(count):
        start, end, _w = pieces[
            min(bisect_right(cumulative, rng.random() * total), len(pieces) - 1)
        ]
        times.append(start + rng.random() * (end - start))
    times.sort()
    return times
