"""Growth and online share read where an operator would read them: the services' own metrics.

Counters are scraped every second and their increases accumulated across process restarts, as
PromQL's increase() does, so a fault scenario's figures stay meaningful.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from loadtests.counters import Increases, Series, read_all
from loadtests.ledger import PhaseLedger
from loadtests.reportmodel import Growth, OnlineShare
from loadtests.scenario import Scenario
from services.shared.background import cancel

TRANSACTIONS = "ndx_sharing_transactions_total"
DEAD_LETTERS = "ndx_dead_letters_total"
DOSSIERS = "ndx_dossiers_total"
REGISTRY_SERIES = frozenset({TRANSACTIONS, DEAD_LETTERS})
MONITOR_SERIES = frozenset({DOSSIERS})


@dataclass
class Snapshot:
    """Counter increases since the meter started, summed over every scraped instance."""

    transactions: float = 0.0
    dead_letters: float = 0.0
    dossiers: dict[str, float] = field(default_factory=dict)
    flows: dict[str, float] = field(default_factory=dict)  # the registry's answers by flow


def snapshot(total: Mapping[Series, float]) -> Snapshot:
    snap = Snapshot()
    for (name, labels), value in total.items():
        label = dict(labels)
        if name == TRANSACTIONS and label.get("observer") == "provider":
            snap.transactions += value
            flow = label.get("flow", "")
            snap.flows[flow] = snap.flows.get(flow, 0.0) + value
        elif name == DEAD_LETTERS:
            snap.dead_letters += value
        elif name == DOSSIERS:
            channel = label.get("channel", "")
            snap.dossiers[channel] = snap.dossiers.get(channel, 0.0) + value
    return snap


class Meter:
    """Scrapes the services every second; a snapshot after each period gives what it counted."""

    def __init__(
        self, registry_ports: list[int], monitor_ports: list[int], interval_s: float = 1.0
    ) -> None:
        self.sources = [(p, REGISTRY_SERIES) for p in registry_ports]
        self.sources += [(p, MONITOR_SERIES) for p in monitor_ports]
        self.interval_s = interval_s
        self.increases = Increases()
        self.marks: list[Snapshot] = []
        self.dossiers_sent = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Take the baseline now, then keep scraping in the background."""
        await self.scrape()
        self._task = asyncio.create_task(self._every())

    async def stop(self) -> None:
        await cancel([self._task])

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.scrape()

    async def scrape(self) -> None:
        async with self._lock:  # one scrape at a time, so each instance's samples stay in order
            for instance, samples, started in await asyncio.to_thread(read_all, self.sources):
                self.increases.add(instance, samples, started)

    async def mark(self, ledger: PhaseLedger | None = None, settle_s: float = 15.0) -> None:
        """Snapshot once the monitor has tallied every dossier sent so far and the registry's
        count stands still (it counts a batch at its commit, a moment after the requester has
        its answer), within a bounded wait."""
        if ledger is not None:
            self.dossiers_sent += sum(ledger.dossiers.values())
        deadline = time.monotonic() + settle_s
        before = None
        while True:
            await self.scrape()
            snap = snapshot(self.increases.total)
            tallied = sum(snap.dossiers.values()) >= self.dossiers_sent
            still = before is not None and snap.transactions == before.transactions
            if (tallied and still) or time.monotonic() > deadline:
                break
            before = snap
            await asyncio.sleep(0.3)
        self.marks.append(snap)

    def period(self, index: int) -> Snapshot:
        before, after = self.marks[index], self.marks[index + 1]
        dossiers = {c: v - before.dossiers.get(c, 0.0) for c, v in after.dossiers.items()}
        flows = {f: v - before.flows.get(f, 0.0) for f, v in after.flows.items()}
        return Snapshot(
            after.transactions - before.transactions,
            after.dead_letters - before.dead_letters,
            dossiers,
            flows,
        )


def _share(online: float, counter: float) -> float | None:
    return None if online + counter == 0 else round(online / (online + counter), 4)


@dataclass(frozen=True)
class PeriodMeasure:
    """What the platform's counters said about one period, beside the driver's own count."""

    measured_rate: float
    dead_letters: float
    driver_rate: float
    online_share: OnlineShare
    registry_flows: dict[str, float]


@dataclass(frozen=True)
class Measured:
    periods: dict[str, PeriodMeasure]
    growth: list[Growth]


def _ratio(now: float, base: float) -> float | None:
    return round(now / base - 1, 4) if base else None


def measured(scenario: Scenario, ledgers: list[PhaseLedger], meter: Meter) -> Measured:
    """Per-period measured rates and online shares, and growth against each baseline."""
    periods: dict[str, PeriodMeasure] = {}
    for i, (period, ledger) in enumerate(zip(scenario.periods, ledgers, strict=True)):
        delta = meter.period(i)
        online = _share(delta.dossiers.get("ONLINE", 0), delta.dossiers.get("COUNTER", 0))
        driver = _share(ledger.dossiers["ONLINE"], ledger.dossiers["COUNTER"])
        periods[period.name] = PeriodMeasure(
            measured_rate=delta.transactions / period.duration_s,
            dead_letters=delta.dead_letters,
            driver_rate=ledger.sent / period.duration_s,
            online_share=OnlineShare(target=period.online_share, measured=online, driver=driver),
            registry_flows={f: round(v) for f, v in sorted(delta.flows.items())},
        )
    growth = []
    for period in scenario.periods:
        if period.baseline is None or period.growth is None:
            continue
        now, base = periods[period.name], periods[period.baseline]
        growth.append(
            Growth(
                period=period.name,
                baseline=period.baseline,
                target=period.growth,
                measured=_ratio(now.measured_rate, base.measured_rate),
                driver=_ratio(now.driver_rate, base.driver_rate),
            )
        )
    return Measured(periods, growth)
