"""Who takes part in a simulation (provinces, ministries, their agreements), loaded from YAML."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.config import InputFileError, load_model

Role = Literal["verify", "lookup", "subscribe_changes", "publish_civil_events", "reconcile_sellers"]
TAX_AUTHORITY = "ministry.tax"  # reconciles what platforms share (Directive 18/CT-TTg)
RECONCILE_PURPOSE = "seller-tax-reconciliation"
SharedField = Literal[
    "full_name", "sex", "birth_date", "birth_province", "residence_province", "deceased"
]
T = TypeVar("T")


class TopologyError(InputFileError):
    """A topology file that cannot be used; the message names the file and the field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Agreement(_Frozen):
    """A data-sharing agreement: which citizen fields one purpose may receive."""

    purpose: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    fields: list[SharedField] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _distinct_fields(cls, v: list[SharedField]) -> list[SharedField]:
        return _distinct(v, "field")


class Province(_Frozen):
    """A provincial portal; merged_from lists the pre-2025 codes of a merged province."""

    id: str
    code: str = Field(pattern=r"^[0-9]{3}$")
    name: str = Field(min_length=1)
    population: int = Field(gt=0)
    merged_from: list[str] = Field(default_factory=list)

    @field_validator("merged_from")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if len(c) != 3 or not (c.isascii() and c.isdigit())]
        if bad:
            raise ValueError(f"not 3-digit codes: {bad}")
        return _distinct(v, "code")

    @model_validator(mode="after")
    def _id_and_code_agree(self) -> Province:
        if self.id != f"province.{self.code}":
            raise ValueError(f"id must be 'province.{self.code}', got {self.id!r}")
        if self.merged_from and self.merged_from[0] != self.code:
            raise ValueError("code must be the first of merged_from (the unit that keeps its seat)")
        return self


class Ministry(_Frozen):
    """A requesting ministry or sector body; weight is its share of ministry traffic."""

    id: str = Field(pattern=r"^ministry\.[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)
    weight: float = Field(gt=0)
    agreements: list[Agreement] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _distinct_roles(cls, v: list[Role]) -> list[Role]:
        return _distinct(v, "role")

    @field_validator("agreements")
    @classmethod
    def _distinct_purposes(cls, v: list[Agreement]) -> list[Agreement]:
        _distinct([a.purpose for a in v], "purpose")
        return v

    @model_validator(mode="after")
    def _lookup_needs_agreement(self) -> Ministry:
        if "lookup" in self.roles and not self.agreements:
            raise ValueError("a ministry with the lookup role needs at least one agreement")
        return self


class Platform(_Frozen):
    """An e-commerce platform sharing its sellers with the tax authority; weight is its
    (assumed) share of sellers."""

    id: str = Field(pattern=r"^platform\.[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    weight: float = Field(gt=0)


class Topology(_Frozen):
    """The agencies of one simulated world and how national traffic splits between them."""

    name: str = Field(min_length=1)
    description: str
    ministry_share: float = Field(ge=0, le=1)
    provinces: list[Province] = Field(min_length=1)
    ministries: list[Ministry] = Field(default_factory=list)
    platforms: list[Platform] = Field(default_factory=list)

    @field_validator("platforms")
    @classmethod
    def _distinct_platforms(cls, v: list[Platform]) -> list[Platform]:
        _distinct([p.id for p in v], "platform id")
        return v

    @model_validator(mode="after")
    def _someone_reconciles(self) -> Topology:
        if self.platforms:
            tax = next((m for m in self.ministries if m.id == TAX_AUTHORITY), None)
            if tax is None or "reconcile_sellers" not in tax.roles:
                raise ValueError(
                    f"platforms share sellers with {TAX_AUTHORITY}: it must be a ministry "
                    "with the reconcile_sellers role"
                )
            if not any(a.purpose == RECONCILE_PURPOSE for a in tax.agreements):
                raise ValueError(f"{TAX_AUTHORITY} needs an agreement for {RECONCILE_PURPOSE}")
        return self

    @field_validator("provinces")
    @classmethod
    def _distinct_provinces(cls, v: list[Province]) -> list[Province]:
        _distinct([p.code for p in v], "province code")
        _distinct([c for p in v for c in p.merged_from], "merged_from code")
        return v

    @field_validator("ministries")
    @classmethod
    def _distinct_ministries(cls, v: list[Ministry]) -> list[Ministry]:
        _distinct([m.id for m in v], "ministry id")
        return v

    def agencies(self) -> list[str]:
        """Ids of every requesting agency (ministries, then provinces); the registry is implied."""
        return [m.id for m in self.ministries] + [p.id for p in self.provinces]

    def agreement_for(self, agency_id: str, purpose: str) -> Agreement | None:
        """The agreement letting an agency receive fields for a purpose, if there is one."""
        for m in self.ministries:
            if m.id == agency_id:
                return next((a for a in m.agreements if a.purpose == purpose), None)
        return None

    def platform_weights(self) -> dict[str, float]:
        """Platform id → share of the sellers shared, from the weights (sums to 1)."""
        total = sum(p.weight for p in self.platforms)
        return {p.id: p.weight / total for p in self.platforms}

    def reconciles(self, agency: str) -> bool:
        return any(m.id == agency and "reconcile_sellers" in m.roles for m in self.ministries)

    def reconcilers(self) -> list[str]:
        """Ministries that verify sellers in bulk (each has a bulk reply topic)."""
        return [m.id for m in self.ministries if "reconcile_sellers" in m.roles]

    def province_weights(self) -> dict[str, float]:
        """Province id → share of provincial traffic, proportional to population (sums to 1)."""
        total = sum(p.population for p in self.provinces)
        return {p.id: p.population / total for p in self.provinces}

    def ministry_weights(self) -> dict[str, float]:
        """Ministry id → share of ministry traffic, from the weights (sums to 1)."""
        total = sum(m.weight for m in self.ministries)
        return {m.id: m.weight / total for m in self.ministries}


def _distinct(values: list[T], what: str) -> list[T]:
    dupes = [str(v) for v, n in Counter(values).items() if n > 1]
    if dupes:
        raise ValueError(f"duplicate {what}: {', '.join(dupes)}")
    return values


def load_topology(path: Path) -> Topology:
    """Read and validate a topology file; every problem is reported with file and field path."""
    return load_model(path, Topology, TopologyError)
