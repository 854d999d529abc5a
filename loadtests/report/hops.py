"""Where the time went: hops per flow, period and link, links ranked, agencies over time."""

from __future__ import annotations

from pydantic import Field

from loadtests.report.base import Latency, Part

HopLatencies = dict[str, Latency]  # hop name -> percentiles of that hop's own histogram


class LinkReport(Part):
    """One requester agency asking for one flow: its end-to-end latency and each hop's."""

    agency: str
    flow: str
    count: int
    latency_ms: Latency
    hops_ms: HopLatencies = Field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.agency} × {self.flow}"


class Heatmap(Part):
    """End-to-end p99 (ms) per agency (rows) and time bucket (columns, seconds into the run)."""

    agencies: list[str]
    bucket_s: float
    starts_s: list[float]
    p99_ms: list[list[float | None]]  # None: the agency sent nothing in that bucket


class HopsReport(Part):
    """The run's transactions split into generator, request, registry and reply hops."""

    hops: list[str]
    stamped: int
    unstamped: int  # timed out, answered from a replica, or by a registry on an older schema
    flows: dict[str, HopLatencies]
    phases: dict[str, dict[str, HopLatencies]]  # phase -> flow -> hop
    links: list[LinkReport]  # slowest p99 first
    slowest: str | None = None
    heatmap: Heatmap | None = None
    registry_offset_us: tuple[int, int] | None = None  # bound on the registry clock's offset
