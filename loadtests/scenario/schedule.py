"""Every period's arrivals fixed from the seed alone, so any worker regenerates the same plan."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import accumulate

from loadtests.scenario.agencies import PlayedAgency, flow_pools
from loadtests.scenario.arrivals import arrival_times
from loadtests.scenario.model import Scenario
from loadtests.scenario.parts import Period


@dataclass(frozen=True, slots=True)
class Arrival:
    """One planned transaction: when (seconds into its period), which flow, which agency."""

    seq: int  # its place in the period's whole plan, the same on every worker
    offset: float
    flow: str
    agency: PlayedAgency
    channel: str = ""  # a dossier's ONLINE or COUNTER, quota kept over the whole plan


@dataclass(frozen=True, slots=True)
class PeriodPlan:
    period: Period
    index: int  # 0 for the warm-up, then 1.. for the scenario's periods
    planned: int  # arrivals of the whole plan, every share together
    arrivals: list[Arrival]  # only those of the share asked for


def warmup_period(scenario: Scenario) -> Period | None:
    """Traffic at the first period's rate before anything is measured; None when there is none."""
    if not scenario.warmup_s:
        return None
    first = scenario.periods[0]
    return Period(
        name="warm-up",
        duration_s=scenario.warmup_s,
        rate_per_s=scenario.rate(first),
        online_share=first.online_share,
    )


class Scheduler:
    """Draws each period's arrival times, flows, agencies and dossier channels from its own
    seeded generator: the count and the schedule are fixed before they are split into shares."""

    def __init__(self, scenario: Scenario, agencies: Sequence[PlayedAgency], seed: int) -> None:
        self.scenario, self.seed = scenario, seed
        self.pools = flow_pools(scenario, list(agencies))
        self.flows = list(self.pools)
        mix = scenario.mix.weights()
        self.flow_cum = list(accumulate(mix[f] for f in self.flows))

    def plan(self, period: Period, index: int, mine: Collection[str] | None = None) -> PeriodPlan:
        """The period's whole plan, keeping only arrivals of agencies in `mine` (all if None)."""
        sc = self.scenario
        rng = random.Random(f"{self.seed}:schedule:{index}")
        times = arrival_times(
            sc.rate(period),
            period.duration_s,
            sc.time_compression,
            sc.diurnal,
            rng,
            period.max_requests,
        )
        share = period.online_share or 0.0
        dossiers = 0
        out: list[Arrival] = []
        for seq, offset in enumerate(times):
            flow = rng.choices(self.flows, cum_weights=self.flow_cum)[0]
            pool, cum = self.pools[flow]
            agency = rng.choices(pool, cum_weights=cum)[0]
            channel = ""
            if flow == "dossier":
                online = int((dossiers + 1) * share) > int(dossiers * share)
                channel = "ONLINE" if online else "COUNTER"
                dossiers += 1
            if mine is None or agency.agency in mine:
                out.append(Arrival(seq, offset, flow, agency, channel))
        return PeriodPlan(period, index, len(times), out)

    def periods(self) -> list[tuple[int, Period]]:
        """(index, period) in play order, the warm-up first when the scenario has one."""
        warm = warmup_period(self.scenario)
        played = [(i + 1, p) for i, p in enumerate(self.scenario.periods)]
        return [(0, warm), *played] if warm is not None else played
