"""Gathering the workers before the first period: every share held, then claimed, within bounds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loadtests.stack import StackError
from loadtests.workers.results import Results, WorkerState

__all__ = ["JOIN_LIMIT_S", "READY_LIMIT_S", "gather"]

JOIN_LIMIT_S = 120.0  # workers to join and hold every share (processes start on busy machines)
READY_LIMIT_S = 120.0  # claimed workers to start their agencies' clients


def _held(results: Results, everyone: set[int], wanted: int) -> bool:
    holding = [w.held for w in results.workers.values() if w.held and not w.dead]
    flat = [s for h in holding for s in h]
    return len(holding) >= wanted and set(flat) == everyone and len(flat) == len(everyone)


async def gather(
    results: Results,
    shares: int,
    run_id: str,
    say_claim: Callable[[], Awaitable[None]],
    dead: Callable[[WorkerState], bool],
) -> list[int]:
    """Wait for workers holding every share, say claim, wait for their claims; the shares no
    worker claimed. Raises StackError when no worker held every share or none claimed one."""
    everyone = set(range(shares))
    wanted = shares  # one share each, wherever the workers run
    joined = await results.until(lambda: _held(results, everyone, wanted), JOIN_LIMIT_S)
    if not joined and not _held(results, everyone, 1):
        raise StackError(
            f"run {run_id}: no workers held every share within {JOIN_LIMIT_S:.0f}s "
            "(a local worker's own log is logs/worker-<n>.log in the run's folder)"
        )
    members = set(results.workers)
    await say_claim()
    await results.until(
        lambda: all(
            results.workers[m].claimed is not None or dead(results.workers[m]) for m in members
        ),
        READY_LIMIT_S,
    )
    claimed = {s for w in results.ready() for s in w.claimed or []}
    if not claimed:
        raise StackError(f"run {run_id}: no worker claimed a share")
    return sorted(everyone - claimed)
