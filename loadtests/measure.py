"""Growth and online share read where an operator would read them: the services' own metrics."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from loadtests.ledger import PhaseLedger
from loadtests.reportmodel import Growth, OnlineShare
from loadtests.scenario import Scenario
from loadtests.stack import scrape


@dataclass
class Snapshot:
    """Counter totals summed over every scraped instance at one moment."""

    transactions: float = 0.0
    dead_letters: float = 0.0
    dossiers: dict[str, float] = field(default_factory=dict)


def take_snapshot(registry_ports: list[int], monitor_ports: list[int]) -> Snapshot:
    snap = Snapshot()
    for port in registry_ports:
        for family in text_string_to_metric_families(scrape(port)):
            if family.name == "ndx_dead_letters":
                snap.dead_letters += sum(
                    s.value for s in family.samples if s.name.endswith("_total")
                )
            if family.name == "ndx_sharing_transactions":
                snap.transactions += sum(
                    s.value for s in family.samples
                    if s.name.endswith("_total") and s.labels.get("observer") == "provider"
                )  # fmt: skip
    for port in monitor_ports:
        for family in text_string_to_metric_families(scrape(port)):
            if family.name == "ndx_dossiers":
                for s in family.samples:
                    if s.name.endswith("_total"):
                        channel = s.labels["channel"]
                        snap.dossiers[channel] = snap.dossiers.get(channel, 0.0) + s.value
    return snap


class Meter:
    """Takes a snapshot after each period; the differences are what the platform counted."""

    def __init__(self, registry_ports: list[int], monitor_ports: list[int]) -> None:
        self.registry_ports, self.monitor_ports = registry_ports, monitor_ports
        self.marks: list[Snapshot] = []
        self.dossiers_sent = 0

    async def mark(self, ledger: PhaseLedger | None = None, settle_s: float = 15.0) -> None:
        """Snapshot once the monitor has tallied every dossier sent so far (bounded wait)."""
        if ledger is not None:
            self.dossiers_sent += sum(ledger.dossiers.values())
        deadline = time.monotonic() + settle_s
        while True:
            snap = await asyncio.to_thread(take_snapshot, self.registry_ports, self.monitor_ports)
            if sum(snap.dossiers.values()) >= self.dossiers_sent or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        self.marks.append(snap)

    def period(self, index: int) -> Snapshot:
        before, after = self.marks[index], self.marks[index + 1]
        dossiers = {c: v - before.dossiers.get(c, 0.0) for c, v in after.dossiers.items()}
        return Snapshot(after.transactions - before.transactions,
                        after.dead_letters - before.dead_letters, dossiers)  # fmt: skip


def _share(online: float, counter: float) -> float | None:
    return None if online + counter == 0 else round(online / (online + counter), 4)


@dataclass(frozen=True)
class PeriodMeasure:
    """What the platform's counters said about one period, beside the driver's own count."""

    measured_rate: float
    dead_letters: float
    driver_rate: float
    online_share: OnlineShare


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
        )
    growth = []
    for period in scenario.periods:
        if period.baseline is None or period.growth is None:
            continue
        now, base = periods[period.name], periods[period.baseline]
        growth.append(Growth(
            period=period.name, baseline=period.baseline, target=period.growth,
            measured=_ratio(now.measured_rate, base.measured_rate),
            driver=_ratio(now.driver_rate, base.driver_rate),
        ))  # fmt: skip
    return Measured(periods, growth)
