"""What system a run was played on, and what the ministries' replicas saved the registry."""

from __future__ import annotations

from pydantic import Field

from loadtests.report.base import Part, Sparse
from services.config import Design


class DesignReport(Sparse):
    """The design as played: the file, the question it answers, every knob, and overrides."""

    name: str
    file: str
    question: str = ""
    settings: Design
    notes: list[str] = Field(default_factory=list)  # where the scenario overrode the design

    @classmethod
    def of(cls, design: Design, file: str, notes: list[str]) -> DesignReport:
        return cls(
            name=design.name, file=file, question=design.question, settings=design, notes=notes
        )


class ReplicaReport(Part):
    """One ministry's replica: verifications it answered itself (hits) and passed on (misses)."""

    ministry: str
    held: int
    hits: int
    misses: int

    @property
    def hit_ratio(self) -> float:
        return self.hits / max(self.hits + self.misses, 1)


class CacheReport(Part):
    """All replicas of a run; `saved` is verifications the registry never had to answer."""

    replicas: list[ReplicaReport]
    hits: int
    misses: int
    hit_ratio: float
    saved: int

    @classmethod
    def of(cls, replicas: list[ReplicaReport]) -> CacheReport:
        hits, misses = sum(r.hits for r in replicas), sum(r.misses for r in replicas)
        return cls(
            replicas=replicas,
            hits=hits,
            misses=misses,
            hit_ratio=round(hits / max(hits + misses, 1), 4),
            saved=hits,
        )
