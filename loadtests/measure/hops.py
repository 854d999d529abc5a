"""Per-hop and per-link HdrHistograms of a run: mergeable across workers, never averaged."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from loadtests.measure.ledger import HIGHEST_US, LOWEST_US, latency_summary
from loadtests.measure.oprecord import Judgement, OpRecord
from loadtests.measure.queuesample import QueueLedger
from loadtests.report import Heatmap, HopLatencies, HopsReport, LinkReport
from services.requester import Result
from services.wire import HOPS, Request, Stamps, offset_bounds, split

DIGITS = 2  # hundreds of link and cell histograms: 1% resolution keeps them small
BUCKET_S = 5.0
WARMUP = "warm-up"  # the warm-up's period name (schedule.warmup_period): no figure of its own
Key = tuple[str, ...]


def _histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


@dataclass(frozen=True)
class EncodedHops:
    """A hop ledger as plain data (picklable, JSON-able with the blobs as text)."""

    hists: dict[str, list[tuple[list[str], bytes]]]
    stamped: int
    unstamped: int
    offset_low: int | None
    offset_high: int | None
    bucket_s: float


@dataclass
class HopLedger:
    """Histograms keyed by (phase, agency, flow, hop), (agency, flow) and (agency, time
    bucket): six values a transaction; per flow, period and link they are added up when
    reported. A hop of 0 µs is recorded as 1 µs, the histograms' floor."""

    bucket_s: float = BUCKET_S
    hists: dict[str, dict[Key, HdrHistogram]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # family -> key -> histogram
    stamped: int = 0
    unstamped: int = 0
    offset_low: int | None = None  # tightest bound on the registry clock's offset (µs)
    offset_high: int | None = None
    transactions: OpRecord | None = None  # the parquet record, when the run keeps one
    queue: QueueLedger = field(default_factory=QueueLedger)  # shipped per period, not merged

    def _add(self, family: str, key: Key, us: float) -> None:
        hists = self.hists[family]
        hist = hists.get(key)
        if hist is None:
            hist = hists[key] = _histogram()
        hist.record_value(LOWEST_US if us < LOWEST_US else min(HIGHEST_US, int(us)))

    def record(
        self,
        agency: str,
        flow: str,
        phase: str,
        request: Request,
        result: Result,
        judged: Judgement | None = None,
    ) -> None:
        """One finished transaction, answered or not, with the ledger's verdict on it."""
        if self.transactions is not None:
            self.transactions.add(agency, flow, phase, request, result, judged)
        self.queue.record(phase, result)
        latency_us = result.latency_s * 1e6
        stamps = result.stamps
        intended_s = time.time() - result.latency_s if stamps is None else stamps.intended_us / 1e6
        if phase != WARMUP:  # a fresh broker's first seconds would rank the links
            self._add("link", (agency, flow), latency_us)
        self._add("cell", (agency, str(int(intended_s // self.bucket_s))), latency_us)
        hops = split(result.stamps) if result.stamps is not None else None
        if hops is None or result.stamps is None:
            self.unstamped += 1
            return
        self.stamped += 1
        for hop, us in zip(
            HOPS, (hops.generator_us, hops.request_us, hops.registry_us, hops.reply_us), strict=True
        ):
            self._add("hop", (phase, agency, flow, hop), us)
        self._bound(result.stamps)

    def _bound(self, stamps: Stamps) -> None:
        if (bounds := offset_bounds(stamps)) is not None:
            self._bound_pair(*bounds)

    def merge(self, other: HopLedger) -> None:
        """Add another process's ledger: histograms added, counts summed, bounds intersected."""
        for family, hists in other.hists.items():
            mine = self.hists[family]
            for key, hist in hists.items():
                if key not in mine:
                    mine[key] = _histogram()
                mine[key].add(hist)
        self.stamped += other.stamped
        self.unstamped += other.unstamped
        if other.offset_low is not None and other.offset_high is not None:
            self._bound_pair(other.offset_low, other.offset_high)

    def _bound_pair(self, low: int, high: int) -> None:
        self.offset_low = low if self.offset_low is None else max(self.offset_low, low)
        self.offset_high = high if self.offset_high is None else min(self.offset_high, high)

    def encode(self) -> EncodedHops:
        """Histograms as hdrh's compressed encodings, to ship from a worker process."""
        hists = {
            family: [(list(key), hist.encode()) for key, hist in hists.items()]
            for family, hists in self.hists.items()
        }
        return EncodedHops(
            hists, self.stamped, self.unstamped, self.offset_low, self.offset_high, self.bucket_s
        )

    @classmethod
    def decode(cls, encoded: EncodedHops) -> HopLedger:
        ledger = cls(
            encoded.bucket_s,
            stamped=encoded.stamped,
            unstamped=encoded.unstamped,
            offset_low=encoded.offset_low,
            offset_high=encoded.offset_high,
        )
        for family, items in encoded.hists.items():
            for key, blob in items:
                hist = _histogram()
                hist.decode_and_add(blob)
                ledger.hists[family][tuple(key)] = hist
        return ledger

    def _hops(self, keep: Callable[[Key], Key | None]) -> dict[Key, HopLatencies]:
        """Hop histograms added up by what `keep` makes of (phase, agency, flow)."""
        merged: dict[Key, dict[str, HdrHistogram]] = {}
        for (phase, agency, flow, hop), hist in self.hists["hop"].items():
            if (key := keep((phase, agency, flow))) is not None:
                by_hop = merged.setdefault(key, {})
                by_hop.setdefault(hop, _histogram()).add(hist)
        return {k: {h: latency_summary(v[h]) for h in HOPS if h in v} for k, v in merged.items()}

    def report(self) -> HopsReport:
        by_flow = self._hops(lambda k: (k[2],) if k[0] != WARMUP else None)
        by_phase = self._hops(lambda k: (k[0], k[2]))
        by_link = self._hops(lambda k: (k[1], k[2]) if k[0] != WARMUP else None)
        phases: dict[str, dict[str, HopLatencies]] = {}
        for (phase, flow), hops in by_phase.items():
            phases.setdefault(phase, {})[flow] = hops
        links = [
            LinkReport(
                agency=a,
                flow=f,
                count=hist.get_total_count(),
                latency_ms=latency_summary(hist),
                hops_ms=by_link.get((a, f), {}),
            )
            for (a, f), hist in self.hists["link"].items()
        ]
        links.sort(key=lambda link: (-link.latency_ms.p99, link.agency, link.flow))
        bound = None
        if self.offset_low is not None and self.offset_high is not None:
            bound = (self.offset_low, self.offset_high)
        return HopsReport(
            hops=list(HOPS),
            stamped=self.stamped,
            unstamped=self.unstamped,
            flows={f: by_flow[(f,)] for f in sorted(f for (f,) in by_flow)},
            phases={p: dict(sorted(v.items())) for p, v in phases.items()},
            links=links,
            slowest=links[0].name if links else None,
            heatmap=self._heatmap(),
            registry_offset_us=bound,
        )

    def _heatmap(self) -> Heatmap | None:
        cells = self.hists["cell"]
        if not cells:
            return None
        agencies = sorted({a for a, _ in cells})
        buckets = sorted({int(b) for _, b in cells})
        first = buckets[0]
        columns = list(range(first, buckets[-1] + 1))

        def p99(agency: str, bucket: int) -> float | None:
            hist = cells.get((agency, str(bucket)))
            return None if hist is None else latency_summary(hist).p99

        return Heatmap(
            agencies=agencies,
            bucket_s=self.bucket_s,
            starts_s=[(b - first) * self.bucket_s for b in columns],
            p99_ms=[[p99(a, b) for b in columns] for a in agencies],
        )
