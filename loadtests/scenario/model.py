"""Scenario files: what traffic to play, validated so a typo names its file and field."""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import Field, model_validator

from loadtests.scenario.arrivals import expected_count
from loadtests.scenario.parts import (
    BulkJob,
    Diurnal,
    Errors,
    Fault,
    Mix,
    Period,
    Share,
    Slo,
    Strict,
)
from services.config import InputFileError, load_model

__all__ = [
    "MAX_PLANNED_ARRIVALS",
    "MAX_SIMULATED_S",
    "SECONDS_PER_DAY",
    "Scenario",
    "ScenarioError",
    "load_scenario",
]

SECONDS_PER_DAY = 86_400
# Arrival times of a period are planned in memory before it plays: a period (the warm-up too)
# may plan at most this many, i.e. 10 million, about 3.6 national days of 2024 at real volume.
MAX_PLANNED_ARRIVALS = 10_000_000
MAX_SIMULATED_S = 366 * SECONDS_PER_DAY  # a period covers at most a simulated year


class ScenarioError(InputFileError):
    """A scenario file is unreadable or invalid; the message names the file and the field."""


class Scenario(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    topology: str
    agencies: list[str] | None = Field(None, description="Agencies to play; all when absent.")
    seed: int | None = None
    scale: float = Field(1.0, gt=0, description="1 is the real national volume.")
    time_compression: float = Field(1.0, gt=0, description="Simulated seconds per played second.")
    timeout_s: float | None = Field(None, gt=0, le=600, description="Overrides the design's.")
    registry_instances: int | None = Field(None, ge=1, le=16, description="Overrides the design's.")
    warmup_s: float = Field(0.0, ge=0, le=600, description="Unmeasured traffic before period 1.")
    retries: int | None = Field(None, ge=0, le=10, description="Overrides the design's.")
    retry_budget: float | None = Field(None, ge=0, le=10, description="Overrides the design's.")
    faults: list[Fault] = Field(default_factory=list)
    bulk: list[BulkJob] = Field(
        default_factory=list, description="Bulk reconciliations (Directive 18) played alongside."
    )
    periods: list[Period] = Field(min_length=1)
    mix: Mix = Mix()
    diurnal: Diurnal = Diurnal()
    errors: Errors = Errors()
    returning: Share = Field(
        0.0, description="Share of an agency's verifications about a citizen it verified before."
    )
    slo: Slo = Slo()
    assumptions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _baselines_exist(self) -> Scenario:
        names = [p.name for p in self.periods]
        if len(set(names)) != len(names):
            raise ValueError("period names must be unique")
        for f in self.faults:
            if f.period is not None and f.period not in names:
                raise ValueError(f"fault {f.action}: no period {f.period!r}")
        jobs = [j.name for j in self.bulk]
        if len(set(jobs)) != len(jobs):
            raise ValueError("bulk job names must be unique")
        for j in self.bulk:
            if j.period is not None and j.period not in names:
                raise ValueError(f"bulk job {j.name}: no period {j.period!r}")
        for p in self.periods:
            if p.baseline is not None and p.baseline not in names[: names.index(p.name)]:
                raise ValueError(
                    f"period {p.name}: baseline {p.baseline!r} is not an earlier period"
                )
        self._playable()
        return self

    def _playable(self) -> None:
        """Refuse, before anything starts, a period whose arrivals could not be planned."""
        warmup = Period(name="warm-up", duration_s=self.warmup_s or 1, rate_per_s=1)
        for i, p in enumerate([*self.periods, *([warmup] if self.warmup_s else [])]):
            where = "warmup_s" if p is warmup else f"periods[{i}] ({p.name})"
            if p.duration_s * self.time_compression > MAX_SIMULATED_S:
                raise ValueError(
                    f"{where}: duration_s x time_compression covers more than "
                    f"{MAX_SIMULATED_S // SECONDS_PER_DAY} simulated days"
                )
            rate = self.rate(self.periods[0] if p is warmup else p)
            planned = self.planned_arrivals(p, rate)
            if p.max_requests is not None:
                planned = min(planned, p.max_requests)
            if not math.isfinite(planned) or planned > MAX_PLANNED_ARRIVALS:
                raise ValueError(
                    f"{where}: plans {planned:.3g} arrivals ({rate:.3g}/s over "
                    f"{p.duration_s:g}s), more than the {MAX_PLANNED_ARRIVALS:,} a period may "
                    "hold; lower the rate, volume, scale, time_compression or duration"
                )

    def planned_arrivals(self, period: Period, rate: float) -> float:
        """Arrivals the period plans: its rate weighted by the diurnal profile, as played."""
        return expected_count(rate, period.duration_s, self.time_compression, self.diurnal)

    def daily_volume(self, period: Period) -> float | None:
        if period.daily_transactions is not None:
            return period.daily_transactions
        if period.baseline is not None and period.growth is not None:
            base = self.daily_volume(self.period(period.baseline))
            return None if base is None else base * (1 + period.growth)
        return None

    def rate(self, period: Period) -> float:
        """Requests per played second."""
        if period.rate_per_s is not None:
            return period.rate_per_s
        if period.baseline is not None and period.growth is not None:
            base = self.period(period.baseline)
            if self.daily_volume(base) is None:
                return self.rate(base) * (1 + period.growth)
        volume = self.daily_volume(period)
        assert volume is not None
        return volume / SECONDS_PER_DAY * self.scale * self.time_compression

    def period(self, name: str) -> Period:
        return next(p for p in self.periods if p.name == name)

    def topology_path(self, scenario_path: Path) -> Path:
        path = Path(self.topology)
        return path if path.is_absolute() else (scenario_path.parent / path).resolve()


def load_scenario(path: Path) -> Scenario:
    return load_model(path, Scenario, ScenarioError)
