"""Scenario sub-models, apart so arrivals can read the diurnal profile without the scenario."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

__all__ = [
    "BulkJob",
    "Diurnal",
    "Errors",
    "Fault",
    "KillBroker",
    "KillRegistry",
    "Latency",
    "Mix",
    "Period",
    "Poison",
    "RestartBroker",
    "RogueAgency",
    "SchemaRoll",
    "SellerFaults",
    "Share",
    "Slo",
    "SlowAgency",
    "StopRegistry",
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


class SellerFaults(Strict):
    """Shares of the sellers a platform shares with a fault, each with a known right answer."""

    wrong_name: Share = 0.0
    wrong_birth_date: Share = 0.0
    unknown_id: Share = 0.0
    invalid_id: Share = 0.0
    deceased: Share = Field(0.0, description="The seller's person has died.")

    @model_validator(mode="after")
    def _at_most_one(self) -> SellerFaults:
        if sum(self.model_dump().values()) > 1:
            raise ValueError("seller fault shares add up to more than 1")
        return self


class BulkJob(Strict):
    """A reconciliation: platforms hand the tax authority their sellers at `at_s` of `period`
    (the first by default); it must have every seller's answer within `deadline_s`."""

    name: str = Field("reconciliation", pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    period: str | None = None
    at_s: float = Field(0.0, ge=0)
    individuals: int = Field(0, ge=0, le=10_000_000)
    enterprises: int = Field(0, ge=0, le=10_000_000)
    share_size: int = Field(500, ge=1, le=2000, description="Sellers per platform share record.")
    share_rate_per_s: float | None = Field(
        None, gt=0, description="Sellers per second the platforms hand over; absent: at once."
    )
    deadline_s: float = Field(600.0, gt=0, le=86_400)
    faults: SellerFaults = SellerFaults()
    taxable_target: dict[Literal["ENTERPRISE", "INDIVIDUAL"], int] = Field(
        default_factory=dict, description="Taxable sellers a reported figure says this job finds."
    )

    @model_validator(mode="after")
    def _sellers(self) -> BulkJob:
        if self.individuals + self.enterprises == 0:
            raise ValueError("a bulk job needs individuals or enterprises")
        return self

    @property
    def items(self) -> int:
        return self.individuals + self.enterprises


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
    bulk_deadline: bool = Field(
        True, description="Every bulk job's sellers all answered, correctly, by its deadline."
    )
    taxable_tolerance: float | None = Field(
        None, gt=0, description="Max relative gap of taxable sellers to the job's target."
    )
    online_share_tolerance: float | None = Field(None, gt=0)


class _Fault(Strict):
    """A scheduled disturbance; `at_s` counts from the start of `period` (the first by default)."""

    at_s: float = Field(ge=0)
    period: str | None = None


class _RegistryFault(_Fault):
    instance: int = Field(1, ge=1, description="Registry instance for kill/stop.")
    down_s: float = Field(2.0, ge=0, le=120, description="How long it stays down.")


class KillRegistry(_RegistryFault):
    """A registry instance killed (SIGKILL) and started again after `down_s`."""

    action: Literal["kill_registry"] = "kill_registry"


class StopRegistry(_RegistryFault):
    """A registry instance stopped gracefully and started again after `down_s`."""

    action: Literal["stop_registry"] = "stop_registry"


class _BrokerFault(_Fault):
    node: int = Field(1, ge=1, le=3, description="Local broker for restart/kill_broker.")
    down_s: float = Field(2.0, ge=0, le=120, description="How long it stays down.")


class RestartBroker(_BrokerFault):
    """A local broker stopped gracefully and started again after `down_s`."""

    action: Literal["restart_broker"] = "restart_broker"


class KillBroker(_BrokerFault):
    """A local broker killed and started again after `down_s`."""

    action: Literal["kill_broker"] = "kill_broker"


class SlowAgency(_Fault):
    """An agency that stops sending for `for_s`, then catches up."""

    action: Literal["slow_agency"] = "slow_agency"
    agency: str = Field("", description="The slow agency.")
    for_s: float = Field(5.0, gt=0, le=600, description="How long the agency stays slow.")

    @model_validator(mode="after")
    def _needs_agency(self) -> SlowAgency:
        if not self.agency:
            raise ValueError(f"{self.action} needs an agency")
        return self


class Poison(_Fault):
    """Undecodable records written to the verification request topic."""

    action: Literal["poison"] = "poison"
    count: int = Field(100, ge=1, le=100_000, description="Poison records to write.")


class SchemaRoll(_Fault):
    """Every registry instance restarted writing another VerificationAnswered version."""

    action: Literal["schema_roll"] = "schema_roll"
    writer_version: int = Field(2, ge=1, description="VerificationAnswered version to roll to.")


class RogueAgency(_Fault):
    """An agency trying what its grants forbid, against another agency."""

    action: Literal["rogue_agency"] = "rogue_agency"
    agency: str = Field("", description="The rogue agency.")
    victim: str = Field("", description="Whom the rogue agency reads or claims to be.")

    @model_validator(mode="after")
    def _needs_agency_and_victim(self) -> RogueAgency:
        if not self.agency:
            raise ValueError(f"{self.action} needs an agency")
        if not self.victim or self.victim == self.agency:
            raise ValueError(f"{self.action} needs a victim: another agency")
        return self


_FAULTS = (
    KillRegistry,
    StopRegistry,
    RestartBroker,
    KillBroker,
    SlowAgency,
    Poison,
    SchemaRoll,
    RogueAgency,
)
ACTIONS: tuple[str, ...] = tuple(f.model_fields["action"].default for f in _FAULTS)


def _action(fault: object) -> str | None:
    """The tag a fault is validated by: its action, from YAML or from a model."""
    action = fault.get("action") if isinstance(fault, dict) else getattr(fault, "action", None)
    return action if action in ACTIONS else None


Fault = Annotated[
    Annotated[KillRegistry, Tag("kill_registry")]
    | Annotated[StopRegistry, Tag("stop_registry")]
    | Annotated[RestartBroker, Tag("restart_broker")]
    | Annotated[KillBroker, Tag("kill_broker")]
    | Annotated[SlowAgency, Tag("slow_agency")]
    | Annotated[Poison, Tag("poison")]
    | Annotated[SchemaRoll, Tag("schema_roll")]
    | Annotated[RogueAgency, Tag("rogue_agency")],
    Discriminator(
        _action,
        custom_error_type="fault_action",
        custom_error_message="action: give one of " + ", ".join(ACTIONS),
    ),
]
