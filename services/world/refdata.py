"""Reference tables shipped with the registry (provinces, names, services), read once, on demand."""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

DATA_PACKAGE = "services.world"
DATA_DIR = "data"


@dataclass(frozen=True, slots=True)
class ProvinceRow:
    """One of the 63 pre-2025 provinces; its code is the ID-number prefix."""

    code: str
    name: str
    region: str
    population: int


@dataclass(frozen=True, slots=True)
class MergedProvinceRow:
    """One of the 34 post-July-2025 provinces and the old codes it absorbed (keeper first)."""

    name: str
    merged_from: tuple[str, ...]
    population: int


@dataclass(frozen=True, slots=True)
class SurnameRow:
    """A surname, its reported share (None when no source gave one) and its sample count."""

    surname: str
    variant: str
    share_pct: float | None
    sample_count: int


@dataclass(frozen=True, slots=True)
class NameRow:
    """A middle or given name with its sex tag (m, f, or u for either) and sample count."""

    kind: str
    name: str
    sex: str
    count: int


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One of the 25 essential public services of Project 06."""

    code: str
    name_vi: str
    name_en: str
    agency: str
    needs_population_data: bool


def _rows(filename: str) -> list[dict[str, str]]:
    ref = resources.files(DATA_PACKAGE).joinpath(DATA_DIR).joinpath(filename)
    return list(csv.DictReader(io.StringIO(ref.read_text(encoding="utf-8"), newline="")))


@cache
def provinces_63() -> tuple[ProvinceRow, ...]:
    """Provinces as in the ID-number code table, with GSO 2023 average population."""
    return tuple(
        ProvinceRow(r["code"], r["name"], r["region"], int(r["population"]))
        for r in _rows("provinces-63.csv")
    )


@cache
def provinces_34() -> tuple[MergedProvinceRow, ...]:
    """Provinces after the 2025 merger, with the merger's published population figures."""
    return tuple(
        MergedProvinceRow(r["name"], tuple(r["merged_from"].split("+")), int(r["population"]))
        for r in _rows("provinces-34.csv")
    )


@cache
def province_codes() -> frozenset[str]:
    """The 63 codes a valid personal ID may start with."""
    return frozenset(p.code for p in provinces_63())


@cache
def surnames() -> tuple[SurnameRow, ...]:
    """Surnames with the reported shares (top rows) and sample counts (all rows)."""
    return tuple(
        SurnameRow(
            r["surname"],
            r["variant"],
            float(r["share_pct"]) if r["share_pct"] else None,
            int(r["uit_sample_count"]),
        )
        for r in _rows("surnames.csv")
    )


@cache
def name_parts() -> tuple[NameRow, ...]:
    """Middle and given names with sex tags and counts."""
    return tuple(
        NameRow(r["kind"], r["name"], r["sex"], int(r["count_in_source"]))
        for r in _rows("given-names.csv")
    )


@cache
def essential_services() -> tuple[ServiceRow, ...]:
    """The 25 essential services a province portal receives dossiers for."""
    return tuple(
        ServiceRow(
            r["code"], r["name_vi"], r["name_en"], r["agency"], r["needs_population_data"] == "yes"
        )
        for r in _rows("essential-services-25.csv")
    )


@dataclass(frozen=True, slots=True)
class Weighted:
    """Labels with cumulative weights, so a uniform number in [0, 1) picks one in O(log n)."""

    names: tuple[str, ...]
    cum: tuple[float, ...]

    @classmethod
    def of(cls, weights: Mapping[str, float]) -> Weighted:
        """Table from label → weight (any positive scale)."""
        total = sum(weights.values())
        acc, cum = 0.0, []
        for w in weights.values():
            acc += w
            cum.append(acc / total)
        cum[-1] = 1.0
        return cls(tuple(weights), tuple(cum))

    def at(self, u: float) -> str:
        """The label whose cumulative slot holds u."""
        return self.names[bisect_right(self.cum, u)]


@cache
def surname_table() -> Weighted:
    """Surnames weighted by reported share; the unallocated rest goes by sample count.

    Assumption: a row with a spelling variant (Hoàng/Huỳnh) splits its weight evenly.
    """
    rows = surnames()
    reported = sum(r.share_pct for r in rows if r.share_pct is not None)
    unshared = sum(r.sample_count for r in rows if r.share_pct is None)
    weights: dict[str, float] = {}
    for r in rows:
        w = r.share_pct if r.share_pct is not None else (100 - reported) * r.sample_count / unshared
        spellings = [r.surname, r.variant] if r.variant else [r.surname]
        for s in spellings:
            weights[s] = weights.get(s, 0.0) + w / len(spellings)
    return Weighted.of(weights)


@cache
def name_table(kind: str, female: bool) -> Weighted:
    """Middle or given names for one sex, by sample count; names tagged u fit either sex."""
    fits = {"f", "u"} if female else {"m", "u"}
    weights: dict[str, float] = {}
    for r in name_parts():
        if r.kind == kind and r.sex in fits:
            weights[r.name] = weights.get(r.name, 0.0) + r.count
    return Weighted.of(weights)
