"""SIGTERM drains and exits 0; a stopped or killed registry's successor answers what was left."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from loadtests.stack.serviceproc import tail
from services.kafka.bus import KafkaTransport
from services.wire.codec import Catalogue, Codec
from services.wire.topics import VERIFY, topics_for
from tests.support.offsets import request_ids_in, rewind_group
from tests.support.processes import reaped, sample, service, start_ready, terminate
from tests.support.traffic import Traffic
from tests.support.waiting import wait_for_async

AGENCIES = ["province.001", "province.092", "ministry.tax"]
GROUP = "ndx.registry"
TIMEOUT_S = 30.0  # longer than a registry restart, so nothing sent meanwhile times out
DRAIN_LIMIT_S = 20.0
SETTLE_S = 10.0  # how long the clients stay open, at most, for late answers a test expects
RATE, COUNT = 60.0, 600  # 10 s of steady load
STOP_AFTER = 90  # answers by registry-a before it is stopped: the load is under way
REWIND = 15  # records per partition a crashed registry "answered but never committed"
PEERS_COUNT = 900  # at twice the rate: load all the while two peers join and leave
CLEAN = {"sent": COUNT, "answered": COUNT, "timed_out": 0, "incorrect": 0, "lost": 0}

Between = Callable[[], Awaitable[None]]


@dataclass
class Swap:
    """What one registry swap under load showed."""

    traffic: Traffic
    code: int
    timings: dict[str, float] = field(default_factory=dict)


async def swap_registry(
    bootstrap: str,
    tmp_path: Path,
    sig: signal.Signals,
    between: Between | None = None,
    settled: Callable[[Traffic], bool] = lambda _t: True,
) -> Swap:
    """Under load, stop registry-a with `sig`, start registry-b at once; play to the end.

    `between` runs after registry-a is gone and before registry-b starts; `settled` holds the
    clients open (a bounded while) until late answers the test expects have arrived.
    """
    transport = KafkaTransport(bootstrap)
    await transport.ensure_topics(topics_for(AGENCIES))
    first = service("registry", "registry-a", bootstrap, tmp_path)
    second = service("registry", "registry-b", bootstrap, tmp_path)
    traffic = Traffic.build(AGENCIES, transport, Codec(Catalogue()), TIMEOUT_S)
    loop = asyncio.get_running_loop()
    async with reaped(first, second):
        await start_ready(first, "registry")
        await traffic.start()
        play = asyncio.create_task(traffic.play(RATE, COUNT))
        try:
            await wait_for_async(lambda: len(traffic.results) >= STOP_AFTER, 60, "answers")
            signalled = loop.time()
            code, exit_s = await terminate(first, sig, DRAIN_LIMIT_S)
            exited = loop.time()
            if between is not None:
                await between()
            ready_s = await start_ready(second, "registry")
            await play
            with contextlib.suppress(AssertionError):  # not settled: the test's checks say how
                await wait_for_async(lambda: settled(traffic), SETTLE_S, "late answers")
        finally:
            play.cancel()
            await traffic.stop()
        assert second.proc is not None and second.proc.poll() is None
    results = traffic.results.values()
    by_b = [r for r in results if r.responder == "registry-b"]
    assert by_b, "registry-b answered nothing"
    for r in results:
        if r.sent_at > exited:
            assert r.responder == "registry-b"  # nobody else was there to answer it
    first_b = min(r.done_at for r in by_b)
    timings = {
        "exit_s": exit_s,
        "successor_ready_s": ready_s,
        "exit_to_first_answer_s": first_b - exited,
        "signal_to_first_answer_s": first_b - signalled,
        "answered_by_a": sum(r.responder == "registry-a" for r in results),
        "answered_by_b": len(by_b),
        "sent_before_b_answered": sum(signalled <= r.sent_at < first_b for r in results),
        "late_answers": traffic.late_answers,
    }
    print(f"{sig.name}: " + ", ".join(f"{k}={v:.2f}" for k, v in timings.items()))
    return Swap(traffic, code, timings)


async def test_sigterm_registry_exits_0_and_its_successor_answers_everything_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    swap = await swap_registry(kafka_bootstrap, tmp_path, signal.SIGTERM)
    assert swap.code == 0, tail(tmp_path / "registry-a.log")
    assert swap.traffic.ledger() == CLEAN
    assert len(swap.traffic.results) == COUNT  # one result per request id, each its own answer
    assert swap.timings["sent_before_b_answered"] > 0
    # Drained and committed before exiting: nothing is redelivered, so nothing is answered twice.
    assert swap.traffic.late_answers == 0
    assert "Traceback" not in (tmp_path / "registry-a.log").read_text()


async def test_sigkill_registry_loses_nothing_its_successor_answers_every_request(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    swap = await swap_registry(kafka_bootstrap, tmp_path, signal.SIGKILL)
    assert swap.code == -signal.SIGKILL
    assert swap.traffic.ledger() == CLEAN
    assert len(swap.traffic.results) == COUNT


async def test_requests_answered_but_not_committed_before_a_crash_are_answered_late_not_twice(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """SIGKILL, then the group's offsets moved back: the crash window between reply and commit."""
    reopened: list[str] = []

    async def crash_window() -> None:
        ranges = await rewind_group(kafka_bootstrap, GROUP, VERIFY, REWIND)
        reopened.extend(await request_ids_in(kafka_bootstrap, ranges, Codec(Catalogue())))

    def ours(traffic: Traffic) -> list[str]:
        return [rid for rid in reopened if rid in traffic.sent_ids]

    swap = await swap_registry(
        kafka_bootstrap,
        tmp_path,
        signal.SIGKILL,
        crash_window,
        settled=lambda t: t.late_answers >= len(ours(t)),  # duplicates may trail fresh answers
    )
    assert ours(swap.traffic), "the rewound offsets held none of this test's requests"
    assert swap.traffic.ledger() == CLEAN  # duplicates are not extra transactions
    assert swap.traffic.late_answers >= len(ours(swap.traffic))
    print(f"re-delivered {len(ours(swap.traffic))}, late answers {swap.traffic.late_answers}")


@pytest.mark.parametrize("kind", ["ministry", "province"])
async def test_sigterm_requester_service_exits_0_under_load_without_timeouts(
    kafka_bootstrap: str, tmp_path: Path, kind: str
) -> None:
    registry = service("registry", f"registry-for-{kind}", kafka_bootstrap, tmp_path)
    hosted = service(kind, f"{kind}-1", kafka_bootstrap, tmp_path, NDX_RATE_PER_AGENCY="30")
    async with reaped(hosted, registry):
        await start_ready(registry, "registry")
        await start_ready(hosted, kind)
        labels = {"observer": "requester"}
        await wait_for_async(  # answers flow: the service is under load
            lambda: sample(hosted.metrics_port, "ndx_sharing_transactions_total", labels) >= 50,
            20,
            f"{kind}: 50 answered transactions",
        )
        timeouts = sample(hosted.metrics_port, "ndx_request_timeouts_total", {})
        code, exit_s = await terminate(hosted, signal.SIGTERM, DRAIN_LIMIT_S)
        registry_code, _ = await terminate(registry, signal.SIGTERM, DRAIN_LIMIT_S)
    print(f"{kind}: SIGTERM to exit {exit_s:.2f}s, code {code}")
    assert code == 0, tail(tmp_path / f"{kind}-1.log")
    assert registry_code == 0
    assert timeouts == 0
    assert "Traceback" not in (tmp_path / f"{kind}-1.log").read_text()


async def test_peers_joining_and_leaving_under_load_neither_crash_a_registry_nor_lose_requests(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    transport = KafkaTransport(kafka_bootstrap)
    await transport.ensure_topics(topics_for(AGENCIES))
    steady = service("registry", "registry-steady", kafka_bootstrap, tmp_path)
    peers = [service("registry", f"registry-peer-{i}", kafka_bootstrap, tmp_path) for i in (1, 2)]
    traffic = Traffic.build(AGENCIES, transport, Codec(Catalogue()), TIMEOUT_S)
    async with reaped(steady, *peers):
        await start_ready(steady, "registry")
        await traffic.start()
        play = asyncio.create_task(traffic.play(RATE * 2, PEERS_COUNT))
        try:
            for peer in peers:  # each join and each leave rebalances the group mid-batch
                await start_ready(peer, "registry")
                await asyncio.sleep(1.0)  # the scenario: a peer that stays a second, then leaves
                code, _ = await terminate(peer, signal.SIGTERM, DRAIN_LIMIT_S)
                assert code == 0, tail(peer.log_path)
            await play
        finally:
            play.cancel()
            await traffic.stop()
        assert steady.proc is not None
        assert steady.proc.poll() is None, tail(steady.log_path)
    assert traffic.ledger() == {**CLEAN, "sent": PEERS_COUNT, "answered": PEERS_COUNT}
    assert "Traceback" not in steady.log_path.read_text()
    print(f"peers: late answers {traffic.late_answers}")
