"""Plays hostile records against a real registry process during steady verification traffic and
collects what a test checks: the ledger, the new dead letters and the registry's counters."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.kafka.bus import KafkaTransport
from services.wire.codec import Catalogue, Codec
from services.wire.topics import CIVIL, DLQ, LOOKUP, VERIFY, topics_for
from tests.support.hostile import Hostile, write_raw
from tests.support.offsets import skip_to_end
from tests.support.poison import header_map
from tests.support.processes import reaped, sample, service, start_ready
from tests.support.traffic import Traffic
from tests.support.waiting import wait_for, wait_for_async

AGENCIES = ["province.001", "province.079", "ministry.vss"]  # the steady, legitimate traffic
OTHERS = ["province.092", "ministry.tax", "ministry.justice"]
GROUP = "ndx.registry"
DLQ_DEADLINE_S = 120.0
SETTLE_S = 60.0


@dataclass(frozen=True, slots=True)
class Letter:
    headers: dict[str, str]
    key: bytes | None
    value: bytes | None

    @property
    def source(self) -> tuple[str, int, int]:
        h = self.headers
        return h["source_topic"], int(h["source_partition"]), int(h["source_offset"])


@dataclass
class Figures:
    """What the registry's own /metrics counted during the run."""

    transactions: float = 0.0  # observer=provider
    dead_letters: Counter[str] = field(default_factory=Counter)
    batch_retries: float = 0.0


@dataclass
class Run:
    ledger: dict[str, int]
    late_answers: int
    written: dict[tuple[str, int, int], Hostile]
    letters: list[Letter]
    figures: Figures
    alive: bool
    ready: float
    log: str
    seconds: float


def read_figures(port: int, reasons: set[str]) -> Figures:
    return Figures(
        sample(port, "ndx_sharing_transactions_total", {"observer": "provider"}),
        Counter({r: int(sample(port, "ndx_dead_letters_total", {"reason": r})) for r in reasons}),
        sample(port, "ndx_batch_retries_total", {"service": "registry"}),
    )


async def dlq_end(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(DLQ.name, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def read_dlq(bootstrap: str, start: int, want: int) -> list[Letter]:
    """The dead letters from `start` on, once `want` of them are there (or the deadline)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_bytes=8 * 1024 * 1024
    )
    await consumer.start()
    tp = TopicPartition(DLQ.name, 0)
    out: list[Letter] = []
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        deadline = time.monotonic() + DLQ_DEADLINE_S
        while time.monotonic() < deadline and len(out) < want:
            for records in (await consumer.getmany(tp, timeout_ms=500)).values():
                out += [Letter(header_map(r.headers), r.key, r.value) for r in records]
        # The scenario: a second more in which anything beyond `want`, a defect, would show.
        await asyncio.sleep(1.0)
        for records in (await consumer.getmany(tp, timeout_ms=500)).values():
            out += [Letter(header_map(r.headers), r.key, r.value) for r in records]
    finally:
        await consumer.stop()
    return out


async def settle(port: int, want: Figures) -> Figures:
    """Counters once they reach what is expected (bounded), read again a moment later."""

    def reached() -> bool:
        now = read_figures(port, set(want.dead_letters))
        return now.transactions >= want.transactions and now.dead_letters >= want.dead_letters

    with contextlib.suppress(AssertionError):  # short of it: the test says by how much
        await asyncio.to_thread(wait_for, reached, SETTLE_S, "the registry's counters", 0.3)
    await asyncio.sleep(1.0)  # the scenario: a second more in which over-counting would show
    return await asyncio.to_thread(read_figures, port, set(want.dead_letters))


async def play(
    bootstrap: str,
    tmp_path: Path,
    hostile: list[Hostile],
    normal: int,
    rate: float,
    answered_elsewhere: int = 0,
    pause_every: int = 100,
    pause_s: float = 0.3,
    design: Path | None = None,
) -> Run:
    """Steady traffic and the hostile records at once, against a fresh registry process (on
    `design`'s clients when given)."""
    transport = KafkaTransport(bootstrap)
    await transport.ensure_topics(topics_for(AGENCIES + OTHERS))
    await skip_to_end(bootstrap, GROUP, [VERIFY, LOOKUP, CIVIL])
    start = await dlq_end(bootstrap)
    own = {} if design is None else {"NDX_DESIGN": str(design)}
    registry = service("registry", "registry-hostile", bootstrap, tmp_path, **own)
    codec = Codec(Catalogue())
    async with reaped(registry):
        await start_ready(registry, "registry")
        began = time.monotonic()
        traffic = Traffic.build(AGENCIES, transport, codec, timeout_s=60.0)
        await traffic.start()
        try:

            async def flood() -> dict[tuple[str, int, int], Hostile]:
                # normal traffic first (a second of it), and after
                await wait_for_async(lambda: traffic.sent >= rate, 30, "normal traffic")
                return await write_raw(bootstrap, hostile, pause_every, pause_s)

            _, written = await asyncio.gather(traffic.play(rate, normal), flood())
        finally:
            await traffic.stop()
        reasons = Counter(h.reason for h in hostile if h.reason)  # the others are answered
        letters = await read_dlq(bootstrap, start, sum(reasons.values()))
        want = Figures(float(normal + answered_elsewhere), reasons)
        figures = await settle(registry.metrics_port, want)
        seconds = time.monotonic() - began
        assert registry.proc is not None
        alive = registry.proc.poll() is None
        ready = sample(registry.metrics_port, "ndx_service_ready", {"service": "registry"})
    log = registry.log_path.read_text(errors="replace")
    return Run(
        traffic.ledger(),
        traffic.late_answers,
        written,
        letters,
        figures,
        alive,
        ready,
        log,
        seconds,
    )
