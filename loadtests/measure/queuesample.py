"""Where each answered request stood in the registry's queue, kept compactly per period so the
coordinator can replay the run's own arrivals through an ideal queue after the run.

A row is (responder, the request's broker append time, the registry's answer time, the service
time the registry drew for it), in µs; the append time, which the broker gives in whole
milliseconds (floored), is taken at the middle of its millisecond. Rows gather in typed arrays,
never objects. A process keeps at most MAX_ROWS rows of a period: past that it keeps whole windows
of WINDOW_US of append time, every `stride`-th window counted on the wall clock, so that every
worker keeps the same windows and a kept window holds every request of it that any worker saw
answered.
"""

from __future__ import annotations

import base64
import json
import sys
import zlib
from array import array
from dataclasses import dataclass, field

from services.requester import Result
from services.wire import Outcome

__all__ = [
    "APPEND_MIDPOINT_US",
    "MAX_ROWS",
    "MAX_WIRE_CHARS",
    "WINDOW_US",
    "QueueLedger",
    "QueueSample",
]

APPEND_MIDPOINT_US = 500  # LogAppendTime is the broker's clock floored to the millisecond
WINDOW_US = 10_000_000  # sampling keeps or drops whole 10-second windows of append time
MAX_ROWS = 400_000  # rows one process keeps of one period (about 10 MB) before it thins them
MAX_WIRE_CHARS = 480_000  # a period's sample as a worker ships it, well inside a 1 MB record
_LITTLE = sys.byteorder == "little"


def _kept(append_us: int, stride: int) -> bool:
    return stride == 1 or (append_us // WINDOW_US) % stride == 0


def _i32(value: int) -> int:
    return max(-(2**31), min(2**31 - 1, value))


def _shuffled(values: array[int]) -> bytes:
    """The bytes of a typed array grouped by significance (byte 0 of every value, then byte
    1, ...): small numbers leave long runs of zeros that zlib packs well."""
    if not _LITTLE:
        values = array(values.typecode, values)
        values.byteswap()
    raw, width = values.tobytes(), values.itemsize
    return b"".join(raw[i::width] for i in range(width))


def _unshuffled(typecode: str, data: bytes, count: int) -> array[int]:
    out = array(typecode)
    width = out.itemsize
    raw = bytearray(count * width)
    for i in range(width):
        raw[i::width] = data[i * count : (i + 1) * count]
    out.frombytes(bytes(raw))
    if not _LITTLE:
        out.byteswap()
    return out


@dataclass
class QueueSample:
    """One period's rows, and how many requests were offered to the registry in it (every
    attempt of every registry-bound transaction, sampled or not)."""

    responders: list[str] = field(default_factory=list)
    who: array[int] = field(default_factory=lambda: array("H"))
    append_us: array[int] = field(default_factory=lambda: array("q"))
    answered_us: array[int] = field(default_factory=lambda: array("q"))
    service_us: array[int] = field(default_factory=lambda: array("q"))
    stride: int = 1  # keeps the windows whose index is a multiple of it
    offered: int = 0
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {name: i for i, name in enumerate(self.responders)}

    def __len__(self) -> int:
        return len(self.append_us)

    def _responder(self, name: str) -> int:
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = len(self.responders)
            self.responders.append(name)
        return index

    def add(self, responder: str, append_us: int, answered_us: int, service_us: int) -> None:
        if not _kept(append_us, self.stride):
            return
        self.who.append(self._responder(responder))
        self.append_us.append(append_us)
        self.answered_us.append(answered_us)
        self.service_us.append(service_us)
        if len(self.append_us) >= MAX_ROWS:
            self.thin(self.stride * 2)

    def thin(self, stride: int) -> None:
        """Keep only the windows a coarser stride keeps (a multiple of the current one)."""
        if stride <= self.stride:
            return
        keep = [i for i, t in enumerate(self.append_us) if _kept(t, stride)]
        for name in ("who", "append_us", "answered_us", "service_us"):
            column: array[int] = getattr(self, name)
            setattr(self, name, array(column.typecode, (column[i] for i in keep)))
        self.stride = stride

    def merge(self, other: QueueSample) -> None:
        """Add another process's rows of the same period; both keep the coarser stride."""
        stride = max(self.stride, other.stride)
        self.thin(stride)
        theirs = other
        if other.stride < stride:  # thinned on a copy: the other sample stays as it was
            theirs = QueueSample(
                list(other.responders),
                array("H", other.who),
                array("q", other.append_us),
                array("q", other.answered_us),
                array("q", other.service_us),
                other.stride,
            )
            theirs.thin(stride)
        mapping = [self._responder(name) for name in theirs.responders]
        self.who.extend(mapping[i] for i in theirs.who)
        self.append_us.extend(theirs.append_us)
        self.answered_us.extend(theirs.answered_us)
        self.service_us.extend(theirs.service_us)
        self.offered += other.offered

    def encode(self, max_chars: int = MAX_WIRE_CHARS) -> str:
        """Text for a worker's period message, thinned until it fits `max_chars`."""
        while True:
            text = self._encode()
            if len(text) <= max_chars or not len(self):
                return text
            self.thin(self.stride * 2)

    def _encode(self) -> str:
        order = sorted(range(len(self)), key=self.append_us.__getitem__)
        appends = [self.append_us[i] for i in order]
        gaps = array("q", [b - a for a, b in zip([0, *appends], appends, strict=False)])
        registry = array("i", [_i32(self.answered_us[i] - self.append_us[i]) for i in order])
        service = array("i", [_i32(self.service_us[i]) for i in order])
        who = array("H", [self.who[i] for i in order])
        head = {
            "responders": self.responders,
            "rows": len(order),
            "stride": self.stride,
            "offered": self.offered,
        }
        body = b"".join(_shuffled(c) for c in (gaps, registry, service, who))
        blob = json.dumps(head).encode() + b"\n" + zlib.compress(body, 6)
        return base64.b64encode(blob).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> QueueSample:
        if not text:
            return cls()
        head_raw, _, packed = base64.b64decode(text).partition(b"\n")
        head = json.loads(head_raw)
        rows, body = int(head["rows"]), zlib.decompress(packed)
        columns, at = [], 0
        for code in ("q", "i", "i", "H"):
            size = array(code).itemsize * rows
            columns.append(_unshuffled(code, body[at : at + size], rows))
            at += size
        gaps, registry, service, who = columns
        appends, t = array("q"), 0
        for gap in gaps:
            t += gap
            appends.append(t)
        answered = array("q", (a + r for a, r in zip(appends, registry, strict=True)))
        return cls(
            list(head["responders"]),
            who,
            appends,
            answered,
            array("q", service),
            int(head["stride"]),
            int(head["offered"]),
        )


@dataclass
class QueueLedger:
    """A process's samples by period name; the worker takes each when its period is over."""

    phases: dict[str, QueueSample] = field(default_factory=dict)

    def record(self, phase: str, result: Result) -> None:
        """One finished transaction. Replica answers (no stamps) never reached the registry;
        a retried one is counted as offered but not sampled: its stamps may mix attempts."""
        stamps = result.stamps
        if stamps is None and result.outcome is not Outcome.TIMEOUT:
            return
        sample = self.phases.get(phase)
        if sample is None:
            sample = self.phases[phase] = QueueSample()
        sample.offered += result.attempts
        if stamps is None or result.attempts != 1 or not stamps.complete:
            return
        service = int(getattr(result.answer, "service_us", 0) or 0)
        responder = getattr(result.answer, "responder", "")
        if service > 0 and stamps.request_append_ms > 0 and responder:
            appended = stamps.request_append_ms * 1000 + APPEND_MIDPOINT_US  # unbiased
            sample.add(responder, appended, stamps.registry_answered_us, service)

    def take(self, phase: str) -> QueueSample:
        return self.phases.pop(phase, None) or QueueSample()
