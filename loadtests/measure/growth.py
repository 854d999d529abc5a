"""Growth and online share read where an operator would read them: the services' own metrics.

Counters are scraped every second and their increases accumulated across process restarts, as
PromQL's increase() does, so a fault scenario's figures stay meaningful. The same scrapes read the
registry's queue: its slot-wait histogram (per period, from the buckets' increases) and its gauges
(slots busy, consumer lag, records in hand: peak and mean of each period's scrapes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from loadtests.measure.counters import (
    GaugeStat,
    GaugeSums,
    Increases,
    Series,
    bucket_quantile,
    read_all,
)
from loadtests.measure.ledger import PhaseLedger
from loadtests.report import Growth, OnlineShare, QueueLag, QueueMeasure, SlotsBusy, Spread
from loadtests.scenario import Scenario
from services.process import cancel
from services.wire import REGISTRY_GROUP

TRANSACTIONS = "ndx_sharing_transactions_total"
DEAD_LETTERS = "ndx_dead_letters_total"
DOSSIERS = "ndx_dossiers_total"
SLOT_WAIT_BUCKETS = "ndx_registry_slot_wait_seconds_bucket"
SLOTS = "ndx_registry_slots"
SLOTS_BUSY = "ndx_registry_slots_busy"
LAG = "ndx_consumer_lag_records"
IN_HAND = "ndx_loop_records_in_hand"
BULK_ITEMS = "ndx_bulk_items_total"
SELLERS_RECONCILED = "ndx_tax_sellers_reconciled_total"
QUEUE_GAUGES = frozenset({SLOTS, SLOTS_BUSY, LAG, IN_HAND})
REGISTRY_SERIES = (
    frozenset({TRANSACTIONS, DEAD_LETTERS, SLOT_WAIT_BUCKETS, BULK_ITEMS}) | QUEUE_GAUGES
)
MONITOR_SERIES = frozenset({DOSSIERS})
TAX_SERIES = frozenset({SELLERS_RECONCILED, BULK_ITEMS})
# A separate bulk lane's registry: its answers count, its queue is not the counters' queue.
BULK_LANE_SERIES = frozenset({TRANSACTIONS, DEAD_LETTERS, BULK_ITEMS})
BULK_FLOW = "bulk"  # counted apart: a bulk item is a transaction, not interactive traffic


@dataclass
class Snapshot:
    """Counter increases since the meter started, summed over every scraped instance."""

    transactions: float = 0.0
    dead_letters: float = 0.0
    dossiers: dict[str, float] = field(default_factory=dict)
    flows: dict[str, float] = field(default_factory=dict)  # the registry's answers by flow
    slot_wait: dict[float, float] = field(default_factory=dict)  # bucket bound (s) -> count
    bulk_by_lane: dict[str, float] = field(default_factory=dict)  # items the registry answered
    bulk_outcomes: dict[str, float] = field(default_factory=dict)  # ...by its answer
    taxable: dict[str, float] = field(default_factory=dict)  # the tax authority's, by kind
    reconciled: float = 0.0  # sellers the tax authority reconciled


def _registry_gauge(series: Series) -> bool:
    """The registry's queue gauges; lag only of the registry's own consumer group."""
    name, labels = series
    return name in QUEUE_GAUGES and (name != LAG or dict(labels).get("group") == REGISTRY_GROUP)


def snapshot(total: Mapping[Series, float]) -> Snapshot:
    snap = Snapshot()
    for (name, labels), value in total.items():
        label = dict(labels)
        if name == SLOT_WAIT_BUCKETS:
            bound = float(label.get("le", "+Inf"))
            snap.slot_wait[bound] = snap.slot_wait.get(bound, 0.0) + value
        elif name == TRANSACTIONS and label.get("observer") == "provider":
            flow = label.get("flow", "")
            snap.flows[flow] = snap.flows.get(flow, 0.0) + value
            if flow != BULK_FLOW:
                snap.transactions += value
        elif name == BULK_ITEMS and label.get("observer") == "provider":
            lane, outcome = label.get("lane", ""), label.get("outcome", "")
            snap.bulk_by_lane[lane] = snap.bulk_by_lane.get(lane, 0.0) + value
            snap.bulk_outcomes[outcome] = snap.bulk_outcomes.get(outcome, 0.0) + value
        elif name == SELLERS_RECONCILED:
            snap.reconciled += value
            if label.get("result") == "taxable":
                kind = label.get("kind", "")
                snap.taxable[kind] = snap.taxable.get(kind, 0.0) + value
        elif name == DEAD_LETTERS:
            snap.dead_letters += value
        elif name == DOSSIERS:
            channel = label.get("channel", "")
            snap.dossiers[channel] = snap.dossiers.get(channel, 0.0) + value
    return snap


class Meter:
    """Scrapes the services every second; a snapshot after each period gives what it counted."""

    def __init__(
        self,
        registry_ports: list[int],
        monitor_ports: list[int],
        interval_s: float = 1.0,
        tax_ports: list[int] | None = None,
        bulk_lane_ports: list[int] | None = None,
    ) -> None:
        self.sources = [(p, REGISTRY_SERIES) for p in registry_ports]
        self.sources += [(p, MONITOR_SERIES) for p in monitor_ports]
        self.sources += [(p, TAX_SERIES) for p in tax_ports or []]
        self.sources += [(p, BULK_LANE_SERIES) for p in bulk_lane_ports or []]
        self.interval_s = interval_s
        self.increases = Increases()
        self.gauges = GaugeSums(_registry_gauge)
        self.marks: list[Snapshot] = []
        self.gauge_marks: list[dict[str, GaugeStat]] = []  # each window's gauges, up to a mark
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
            scraped = await asyncio.to_thread(read_all, self.sources)
            for instance, samples, started in scraped:
                counters = {s: v for s, v in samples.items() if s[0] not in QUEUE_GAUGES}
                self.increases.add(instance, counters, started)
            self.gauges.add([samples for _, samples, _ in scraped], time.monotonic())

    async def mark(self, ledger: PhaseLedger | None = None, settle_s: float = 15.0) -> None:
        """Snapshot once the monitor has tallied every dossier sent so far and the registry's
        count stands still (it counts a batch at its commit, a moment after the requester has
        its answer), within a bounded wait."""
        if ledger is not None:
            self.dossiers_sent += sum(ledger.dossiers.values())
        ended = time.monotonic()  # the period's requests are all accounted for by now
        span = max(ledger.ended - ledger.started, 0.0) if ledger is not None else None
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
        # The registry's gauges over the period's own span (its arrivals and their drain), not
        # the idle seconds between periods nor those of this settling.
        since = None if span is None else ended - span
        self.gauge_marks.append(self.gauges.take(since, ended))

    async def now(
        self, enough: Callable[[Snapshot], bool] | None = None, settle_s: float = 15.0
    ) -> Snapshot:
        """Every increase since the meter started, freshly scraped (bulk jobs outlast periods);
        with `enough`, scraped again until it holds (the services count a batch when it is
        committed, a moment after its answers left) or `settle_s` passes."""
        deadline = time.monotonic() + settle_s
        while True:
            await self.scrape()
            snap = snapshot(self.increases.total)
            if enough is None or enough(snap) or time.monotonic() > deadline:
                return snap
            await asyncio.sleep(0.3)

    def period(self, index: int) -> Snapshot:
        before, after = self.marks[index], self.marks[index + 1]
        dossiers = {c: v - before.dossiers.get(c, 0.0) for c, v in after.dossiers.items()}
        flows = {f: v - before.flows.get(f, 0.0) for f, v in after.flows.items()}
        waits = {b: v - before.slot_wait.get(b, 0.0) for b, v in after.slot_wait.items()}
        return Snapshot(
            after.transactions - before.transactions,
            after.dead_letters - before.dead_letters,
            dossiers,
            flows,
            waits,
        )

    def queue(self, index: int) -> QueueMeasure | None:
        """The registry's queue in period `index` (between marks `index` and `index + 1`), or
        None when its metrics show none (a registry without the queue metrics)."""
        waits = self.period(index).slot_wait
        gauges = self.gauge_marks[index + 1] if index + 1 < len(self.gauge_marks) else {}
        if not waits and not gauges:
            return None
        p50, p99 = bucket_quantile(0.50, waits), bucket_quantile(0.99, waits)
        busy, slots = gauges.get(SLOTS_BUSY), gauges.get(SLOTS)
        lag, hand = gauges.get(LAG), gauges.get(IN_HAND)
        return QueueMeasure(
            slot_wait=(
                None
                if p50 is None or p99 is None
                else Spread(p50_ms=round(p50 * 1000, 3), p99_ms=round(p99 * 1000, 3))
            ),
            waits=round(max(waits.values(), default=0.0)),
            slots_busy=(
                None
                if busy is None
                else SlotsBusy(
                    slots=None if slots is None else round(slots.peak),
                    peak=round(busy.peak, 2),
                    mean=round(busy.mean, 2),
                )
            ),
            lag=(
                None
                if lag is None and hand is None
                else QueueLag(
                    peak_records=None if lag is None else lag.peak,
                    in_hand_peak=None if hand is None else hand.peak,
                )
            ),
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
    queue: QueueMeasure | None = None


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
            queue=meter.queue(i),
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
