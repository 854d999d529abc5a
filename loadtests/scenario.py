"""Scenario files: what traffic to play, validated so a typo names its file and field."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from services.shared.yamlfile import InputFileError, load_model

SECONDS_PER_DAY = 86_400
Share = Annotated[float, Field(ge=0.0, le=1.0)]
# Arrival times of a period are planned in memory before it plays: a period (the warm-up too)
# may plan at most this many, i.e. 10 million, about 3.6 national days of 2024 at real volume.
MAX_PLANNED_ARRIVALS = 10_000_000
MAX_SIMULATED_S = 366 * SECONDS_PER_DAY  # a period covers at most a simulated year


class ScenarioError(InputFileError):
    """A scenario file is unreadable or invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Period(_Strict):
    name: str = Field(min_length=1)
    duration_s: float = Field(gt=0, le=86_400)
    rate_per_s: float | None = Field(None, gt=0, description="Played rate, bypassing volume.")
    daily_transactions: float | None = Field(None, gt=0, description="National volume per day.")
    baseline: str | None = Field(None, description="Period whose volume `growth` applies to.")
    growth: float | None = Field(None, gt=-1.0)
    online_share: Share = 0.5
    max_requests: int | None = Field(None, gt=0, description="Stop the period after this many.")

    @model_validator(mode="after")
    def _one_volume(self) -> Period:
        given = [
            self.rate_per_s is not None,
            self.daily_transactions is not None,
            self.growth is not None,
        ]
        if sum(given) != 1:
            raise ValueError("give exactly one of rate_per_s, daily_transactions, growth")
        if (self.growth is None) != (self.baseline is None):
            raise ValueError("growth and baseline go together")
        return self


class Mix(_Strict):
    """Relative weights of each flow among the played arrivals."""

    verify: float = Field(1.0, ge=0)
    lookup: float = Field(0.0, ge=0)
    dossier: float = Field(0.0, ge=0, description="A provincial dossier and its verification.")
    death: float = Field(0.0, ge=0, description="A death registered by ministry.justice.")

    @model_validator(mode="after")
    def _something(self) -> Mix:
        if self.verify + self.lookup + self.dossier + self.death <= 0:
            raise ValueError("at least one flow needs a positive weight")
        return self

    def weights(self) -> dict[str, float]:
        return {f: w for f, w in self.model_dump().items() if w > 0}


class Diurnal(_Strict):
    """How traffic spreads over the simulated day; the hourly weights are relative."""

    start_hour: float = Field(9.0, ge=0, lt=24, description="Simulated clock at period start.")
    hourly: list[float] | None = Field(None, min_length=24, max_length=24)

    @field_validator("hourly")
    @classmethod
    def _positive(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (min(v) < 0 or sum(v) <= 0):
            raise ValueError("hourly weights must be >= 0 and not all zero")
        return v

    def factor(self, hour: int) -> float:
        """Rate multiplier for a simulated hour; the mean over the day is 1."""
        if self.hourly is None:
            return 1.0
        return self.hourly[hour % 24] * 24 / sum(self.hourly)


class Errors(_Strict):
    """Shares of verifications carrying a deliberate fault, each with a known right answer."""

    wrong_name: Share = 0.0
    wrong_birth_date: Share = 0.0
    unknown_id: Share = 0.0
    invalid_id: Share = 0.0
    no_legal_basis: Share = 0.0
    unauthorised_lookup: Share = Field(0.0, description="Share of lookups with no agreement.")

    @model_validator(mode="after")
    def _at_most_one(self) -> Errors:
        verify = (
            self.wrong_name
            + self.wrong_birth_date
            + self.unknown_id
            + self.invalid_id
            + self.no_legal_basis
        )
        if verify > 1:
            raise ValueError("verification error shares add up to more than 1")
        return self


class Latency(_Strict):
    p50_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)


class Slo(_Strict):
    p99_ms: float | None = Field(None, gt=0, description="Every flow, every period.")
    p50_ms: float | None = Field(None, gt=0)
    flows: dict[Literal["verify", "lookup", "death"], Latency] = {}
    max_timeout_share: Share = 0.0
    max_late_send_share: Share | None = None
    growth_tolerance: float | None = Field(None, gt=0, description="Max |measured - target|.")
    online_share_tolerance: float | None = Field(None, gt=0)


class Fault(_Strict):
    """A scheduled disturbance; `at_s` counts from the start of `period` (the first by default)."""

    action: Literal[
        "kill_registry",
        "stop_registry",
        "restart_broker",
        "kill_broker",
        "slow_agency",
        "poison",
        "schema_roll",
        "rogue_agency",
    ]
    at_s: float = Field(ge=0)
    period: str | None = None
    instance: int = Field(1, ge=1, description="Registry instance for kill/stop.")
    node: int = Field(1, ge=1, le=3, description="Local broker for restart/kill_broker.")
    down_s: float = Field(2.0, ge=0, le=120, description="How long it stays down.")
    agency: str | None = Field(None, description="The slow (or rogue) agency.")
    victim: str | None = Field(None, description="Whom a rogue agency reads or claims to be.")
    for_s: float = Field(5.0, gt=0, le=600, description="How long the agency stays slow.")
    count: int = Field(100, ge=1, le=100_000, description="Poison records to write.")
    writer_version: int = Field(2, ge=1, description="VerificationAnswered version to roll to.")

    @model_validator(mode="after")
    def _needs_agency(self) -> Fault:
        if self.action in ("slow_agency", "rogue_agency") and not self.agency:
            raise ValueError(f"{self.action} needs an agency")
        if self.action == "rogue_agency" and (not self.victim or self.victim == self.agency):
            raise ValueError("rogue_agency needs a victim: another agency")
        return self


class Scenario(_Strict):
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
    faults: list[Fault] = []
    periods: list[Period] = Field(min_length=1)
    mix: Mix = Mix()
    diurnal: Diurnal = Diurnal()
    errors: Errors = Errors()
    returning: Share = Field(
        0.0, description="Share of an agency's verifications about a citizen it verified before."
    )
    slo: Slo = Slo()
    assumptions: list[str] = []

    @model_validator(mode="after")
    def _baselines_exist(self) -> Scenario:
        names = [p.name for p in self.periods]
        if len(set(names)) != len(names):
            raise ValueError("period names must be unique")
        for f in self.faults:
            if f.period is not None and f.period not in names:
                raise ValueError(f"fault {f.action}: no period {f.period!r}")
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
        from loadtests.arrivals import expected_count  # arrivals imports this module

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
