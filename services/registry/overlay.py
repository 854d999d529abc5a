"""Changes to the procedural population (moves, deaths) that the registry has been told of."""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.wire import CitizenChanged
from services.world import Citizen


@dataclass(frozen=True, slots=True)
class Change:
    deceased: bool = False
    residence_province: str = ""


class Overlay:
    """Latest change per citizen; rebuilt at start-up from the compacted changes topic."""

    def __init__(self) -> None:
        self._changes: dict[str, Change] = {}
        self._applied: dict[str, set[str]] = {}  # event ids applied, by citizen

    def version(self, citizen_id: str) -> int:
        """How many distinct changes of this citizen have been applied (0: the procedural
        record); a change applied twice (its own handler, then the change feed) counts once."""
        return len(self._applied.get(citizen_id, ()))

    def __len__(self) -> int:
        return len(self._changes)

    def apply(self, event: CitizenChanged) -> None:
        current = self._changes.get(event.citizen_id, Change())
        if event.change == "DIED":
            current = replace(current, deceased=True)
        elif event.change == "MOVED" and event.residence_province:
            current = replace(current, residence_province=event.residence_province)
        self._changes[event.citizen_id] = current
        self._applied.setdefault(event.citizen_id, set()).add(event.event_id)

    def view(self, citizen: Citizen) -> Citizen:
        """The citizen as the registry now knows them."""
        change = self._changes.get(citizen.citizen_id)
        if change is None:
            return citizen
        return replace(
            citizen,
            deceased=citizen.deceased or change.deceased,
            residence_province=change.residence_province or citizen.residence_province,
        )
