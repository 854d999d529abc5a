"""Who played the load: each worker's share and counts, and which side limited the run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loadtests.report.base import Part

Side = Literal["generator", "simulation", "design"]


class WorkerReport(Part):
    """One worker process; a worker that died is `finished: false` and its share accounted:
    `sent` + `not_sent` = `planned`; of what it sent, `answered` + `timed_out` + `unaccounted`."""

    name: str
    host: str
    pid: int
    shares: list[int]
    agencies: list[str]
    planned: int = Field(description="Arrivals of its share over the whole run.")
    sent: int
    answered: int
    timed_out: int
    unaccounted: int = Field(0, description="In flight when it died: counted as lost.")
    not_sent: int = Field(0, description="Planned arrivals it never sent (it died first).")
    late_send_share: float
    cpu_cores: float = Field(description="Its own CPU over its playing time, in cores.")
    peak_cores: float = 0.0
    finished: bool
    taken_over: list[int] = Field(default_factory=list, description="Shares reassigned to it.")
    record_part: str = Field("", description="Its transaction record, on its host, when apart.")
    histograms: dict[str, str] = Field(
        default_factory=dict, description="Its raw latency HdrHistogram per phase (hdrh encoded)."
    )


class Limit(Part):
    """Which side limited the run, and why, in plain words with the figures that show it; for
    the design, `part` names the part of it that limited ("registry capacity", "request
    partitions", "broker CPU"), and the reason starts with it."""

    side: Side
    reason: str
    part: str | None = None

    @property
    def words(self) -> str:
        """Side and reason as one phrase: 'design: registry capacity 100/s (...) ...'."""
        return f"{self.side}: {self.reason}"
