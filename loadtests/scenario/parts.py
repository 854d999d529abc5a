"""Scenario sub-models, apart so arrivals can read the diurnal profile without the scenario."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "Diurnal",
    "Errors",
    "Fault",
    "Latency",
    "Mix",
    "Period",
    "Share",
    "Slo",
    "Strict",
]

Share = Annotated[float, Field(ge=0.0, le=1.0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Period(Strict):
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


class Mix(Strict):
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


class Diurnal(Strict):
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


class Errors(Strict):
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


class Latency(Strict):
    p50_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)


class Slo(Strict):
    p99_ms: float | None = Field(None, gt=0, description="Every flow, every period.")
    p50_ms: float | None = Field(None, gt=0)
    flows: dict[Literal["verify", "lookup", "death"], Latency] = {}
    max_timeout_share: Share = 0.0
    max_late_send_share: Share | None = None
    growth_tolerance: float | None = Field(None, gt=0, description="Max |measured - target|.")
    online_share_tolerance: float | None = Field(None, gt=0)


class Fault(Strict):
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
