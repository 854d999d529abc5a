"""Per-hop and per-link HdrHistograms of a run: mergeable across workers, never averaged."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from loadtests.ledger import HIGHEST_US, LOWEST_US, latency_summary
from loadtests.oprecord import OpRecord
from loadtests.reportmodel.hops import Heatmap, HopLatencies, HopsReport, LinkReport
from services.shared.messages import Request
from services.shared.requester import Result
from services.shared.stamps import HOPS, Stamps, offset_bounds, split

DIGITS = 2  # hundreds of link and cell histograms: 1% resolution keeps them small
BUCKET_S = 5.0
Key = tuple[str, ...]


def _histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def _value(us: float) -> int:
    return max(LOWEST_US, min(HIGHEST_US, int(us)))


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
    """Histograms keyed by (phase, flow, hop), (agency, flow, hop), (agency, flow) and
    (agency, time bucket); a hop of 0 µs is recorded as 1 µs, the histograms' floor."""

    bucket_s: float = BUCKET_S
    hists: dict[str, dict[Key, HdrHistogram]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # family -> key -> histogram
    stamped: int = 0
    unstamped: int = 0
    offset_low: int | None = None  # tightest bound on the registry clock's offset (µs)
    offset_high: int | None = None
    transactions: OpRecord | None = None  # the parquet record, when the run keeps one

    def _add(self, family: str, key: Key, us: float) -> None:
        hists = self.hists[family]
        hist = hists.get(key)
        if hist is None:
            hist = hists[key] = _histogram()
        hist.record_value(_value(us))

    def record(self, agency: str, flow: str, phase: str, request: Request, result: Result
               ) -> None:  # fmt: skip
        """One finished transaction, answered or not."""
        if self.transactions is not None:
            self.transactions.add(agency, flow, phase, request, result)
        latency_us = result.latency_s * 1e6
        stamps = result.stamps
        intended_s = time.time() - result.latency_s if stamps is None else stamps.intended_us / 1e6
        self._add("link", (agency, flow), latency_us)
        self._add("cell", (agency, str(int(intended_s // self.bucket_s))), latency_us)
        hops = split(result.stamps) if result.stamps is not None else None
        if hops is None or result.stamps is None:
            self.unstamped += 1
            return
        self.stamped += 1
        for hop, us in hops.by_name().items():
            self._add("phase", (phase, flow, hop), us)
            self._add("hop", (agency, flow, hop), us)
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
        return EncodedHops(hists, self.stamped, self.unstamped, self.offset_low,
                           self.offset_high, self.bucket_s)  # fmt: skip

    @classmethod
    def decode(cls, encoded: EncodedHops) -> HopLedger:
        ledger = cls(encoded.bucket_s, stamped=encoded.stamped, unstamped=encoded.unstamped,
                     offset_low=encoded.offset_low, offset_high=encoded.offset_high)  # fmt: skip
        for family, items in encoded.hists.items():
            for key, blob in items:
                hist = _histogram()
                hist.decode_and_add(blob)
                ledger.hists[family][tuple(key)] = hist
        return ledger

    def _hops(self, family: str, prefix: Key) -> HopLatencies:
        hists = self.hists[family]
        return {h: latency_summary(hists[(*prefix, h)]) for h in HOPS if (*prefix, h) in hists}

    def report(self) -> HopsReport:
        flows = sorted({k[1] for k in self.hists["phase"]})
        phases = list(dict.fromkeys(k[0] for k in self.hists["phase"]))
        by_flow: dict[str, HopLatencies] = {}
        for flow in flows:
            merged = {h: _histogram() for h in HOPS}
            for (_, f, hop), hist in self.hists["phase"].items():
                if f == flow:
                    merged[hop].add(hist)
            by_flow[flow] = {h: latency_summary(merged[h]) for h in HOPS}
        links = [
            LinkReport(agency=a, flow=f, count=hist.get_total_count(),
                       latency_ms=latency_summary(hist), hops_ms=self._hops("hop", (a, f)))
            for (a, f), hist in self.hists["link"].items()
        ]  # fmt: skip
        links.sort(key=lambda link: (-link.latency_ms.p99, link.agency, link.flow))
        bound = None
        if self.offset_low is not None and self.offset_high is not None:
            bound = (self.offset_low, self.offset_high)
        return HopsReport(
            hops=list(HOPS),
            stamped=self.stamped,
            unstamped=self.unstamped,
            flows=by_flow,
            phases={p: {f: self._hops("phase", (p, f)) for f in flows} for p in phases},
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
