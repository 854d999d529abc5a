"""What the loop keeps of a handled record: its outputs, remembered for redeliveries, and what
it counts once the record's batch is committed."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from services.kafka import Record
from services.wire import Message


@dataclass(slots=True)
class Outgoing:
    topic: str
    message: Message
    key: bytes | None = None
    repeat: bool = True  # sent again for a redelivered request (an answer); False: once (audit)


@dataclass(slots=True)
class Remembered:
    """Outputs made durable for a request id; `counted` once their batch was committed."""

    outs: list[Outgoing]
    counted: bool = False


class Deduplicator:
    """Remembers recent answers by request id so a redelivered request is answered the same."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, Remembered] = OrderedDict()

    def get(self, key: str) -> Remembered | None:
        return self._seen.get(key)

    def put(self, key: str, outs: list[Outgoing]) -> None:
        """Remember outputs once durable (a re-read then repeats them instead of deciding)."""
        if key not in self._seen:
            self._seen[key] = Remembered(outs)
            if len(self._seen) > self.capacity:
                self._seen.popitem(last=False)

    def counted(self, key: str) -> None:
        if (seen := self._seen.get(key)) is not None:
            seen.counted = True


@dataclass(slots=True)
class Handled:
    """One record of a batch once handled: what is counted and remembered after the commit."""

    rec: Record
    message: Message | None = None
    outs: list[Outgoing] = field(default_factory=list)
    seconds: float = 0.0
    key: str | None = None  # request id, remembered for redeliveries
    dead: str = ""  # dead-letter reason
    detail: str = ""  # bounded words for the dead letter's header
    duplicate: bool = False  # answered from memory; tallied only if its first time never was
    sends: list[Outgoing] | None = None  # what goes out when not all of `outs` (a repeat)
    denied: tuple[str, str] | None = None  # (agency, action) of a refused identity claim
