"""The measured periods played in order with their hooks, alike for the driver and coordinator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loadtests.measure import PhaseLedger
from loadtests.scenario import Period

__all__ = ["PeriodHook", "StartHook", "play_periods"]

PeriodHook = Callable[[PhaseLedger], Awaitable[None]]
StartHook = Callable[[str], None]


async def play_periods(
    periods: list[tuple[int, Period]],
    play_period: Callable[[int, Period], Awaitable[PhaseLedger]],
    phases: list[PhaseLedger],
    on_period_end: PeriodHook | None = None,
    on_period_start: StartHook | None = None,
) -> list[PhaseLedger]:
    """Play every period but the warm-up (index 0), appending each ledger to `phases`."""
    for index, period in periods:
        if index == 0:
            continue
        if on_period_start is not None:
            on_period_start(period.name)
        ledger = await play_period(index, period)
        phases.append(ledger)
        if on_period_end is not None:
            await on_period_end(ledger)
    return phases
