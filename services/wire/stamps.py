"""A transaction's timestamps and its split into hops that add up exactly to its latency.

Clocks: the requester's stamps (intended, sent, received) come from one process clock (the event
loop's monotonic clock, placed on the wall clock by one offset per request), so differences
between them are exact. The registry's stamps (received, answered) are on the registry's wall
clock; the broker's append times (LogAppendTime topics, milliseconds) on the broker's. Only the
registry's own duration (answered - received) is taken from its clock alone; where its clock meets
the requester's, causality bounds the offset: a registry clock ahead by `theta` must satisfy
`answered - received_end <= theta <= registry_received - sent` (see `offset_bounds`). On one
machine theta is 0; a stamp pair that falls outside the bound is clamped, never dropped, so the
hops still add up to the end-to-end latency (see `split`).
"""

from __future__ import annotations

from dataclasses import dataclass

HOPS = ("generator", "request", "registry", "reply")
"""generator: intended -> sent; request: sent -> registry received (delivery and consumer lag);
registry: received -> answered; reply: answered -> requester received."""


@dataclass(frozen=True, slots=True)
class Stamps:
    """Microseconds since the epoch, except the two broker append times (ms; 0 when unknown)."""

    intended_us: int
    sent_us: int
    received_us: int  # requester got the answer: intended + end-to-end latency
    request_append_ms: int = 0
    registry_received_us: int = 0  # 0: the registry's writer schema has no such field
    registry_answered_us: int = 0
    reply_append_ms: int = 0

    @property
    def latency_us(self) -> int:
        return self.received_us - self.intended_us

    @property
    def complete(self) -> bool:
        """The registry said when it took the request up, so all four hops can be told apart."""
        return self.registry_received_us > 0 and self.registry_answered_us > 0


@dataclass(frozen=True, slots=True)
class Hops:
    generator_us: int
    request_us: int
    registry_us: int
    reply_us: int

    @property
    def total_us(self) -> int:
        return self.generator_us + self.request_us + self.registry_us + self.reply_us

    def by_name(self) -> dict[str, int]:
        return dict(
            zip(
                HOPS,
                (self.generator_us, self.request_us, self.registry_us, self.reply_us),
                strict=True,
            )
        )


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def split(s: Stamps) -> Hops | None:
    """The four hops, summing exactly to the latency; None when the registry gave no stamps.

    Each hop is clamped into what the latency leaves after the hops before it, so a skewed
    registry clock moves time between request and reply (their sum is skew-free) but never
    makes a hop negative or the sum differ from the end-to-end latency.
    """
    if not s.complete:
        return None
    total = max(s.latency_us, 0)
    generator = _clamp(s.sent_us - s.intended_us, 0, total)
    registry = _clamp(s.registry_answered_us - s.registry_received_us, 0, total - generator)
    network = total - generator - registry
    request = _clamp(s.registry_received_us - s.sent_us, 0, network)
    return Hops(generator, request, registry, network - request)


def offset_bounds(s: Stamps) -> tuple[int, int] | None:
    """(low, high) µs within which the registry clock's offset from the requester's must lie."""
    if not s.complete:
        return None
    return s.registry_answered_us - s.received_us, s.registry_received_us - s.sent_us
