"""A ministry's replica of the citizens it already holds, kept current by the change feed."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from services.wire import CitizenChanged, Outcome, VerificationAnswered, VerificationRequested
from services.world.citizen_id import normalise_name

__all__ = ["REPLICA", "CitizenReplica"]

REPLICA = "replica"  # the provider label of an answer given from a ministry's own replica


@dataclass(slots=True)
class _Held:
    name: str  # normalised, as the registry compares it
    birth_date: str
    deceased: bool = False


class CitizenReplica:
    """Answers verifications of held citizens as the registry would; a miss asks the registry.

    Only what the registry itself confirmed is held: a MATCH teaches name and birth date, a
    DECEASED answer or a DIED change teaches the death, which nothing later undoes.
    """

    def __init__(self, ministry: str, purposes: frozenset[str], capacity: int) -> None:
        self.ministry, self.purposes, self.capacity = ministry, purposes, capacity
        self._held: OrderedDict[str, _Held] = OrderedDict()
        self._dead: set[str] = set()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._held)

    def answer(self, req: VerificationRequested, at_us: int) -> VerificationAnswered | None:
        """The registry's answer from the replica, or None when it must be asked."""
        if req.purpose not in self.purposes:
            self.misses += 1
            return None  # the legal basis is the registry's to judge
        cid = req.citizen_id
        if cid in self._dead:
            self.hits += 1
            return self._answered(req, "DECEASED", [], at_us)
        held = self._held.get(cid)
        if held is None:
            self.misses += 1
            return None
        self._held.move_to_end(cid)
        self.hits += 1
        differing = []
        if normalise_name(req.full_name) != held.name:
            differing.append("full_name")
        if req.birth_date != held.birth_date:
            differing.append("birth_date")
        return self._answered(req, "MISMATCH" if differing else "MATCH", differing, at_us)

    def learn(self, req: VerificationRequested, answer: VerificationAnswered) -> None:
        """Keep what the registry confirmed about this citizen."""
        if answer.outcome == Outcome.DECEASED:
            self._dead.add(req.citizen_id)
        elif answer.outcome == Outcome.MATCH and req.citizen_id not in self._dead:
            self._held[req.citizen_id] = _Held(normalise_name(req.full_name), req.birth_date)
            self._held.move_to_end(req.citizen_id)
            if len(self._held) > self.capacity:
                self._held.popitem(last=False)

    def apply(self, change: CitizenChanged) -> None:
        """A death on the change feed; moves change nothing a verification compares."""
        if change.change == "DIED" or change.deceased:
            self._dead.add(change.citizen_id)
            self._held.pop(change.citizen_id, None)

    def knows_death(self, citizen_id: str) -> bool:
        return citizen_id in self._dead

    def _answered(
        self, req: VerificationRequested, outcome: str, differing: list[str], at_us: int
    ) -> VerificationAnswered:
        return VerificationAnswered(
            req.request_id, req.requester, f"{self.ministry}.{REPLICA}", outcome, at_us, differing
        )
