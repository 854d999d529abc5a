"""A dead worker is found by Kafka's group protocol (it left the run's group), never by a
silence of our own while the cluster is up."""

from __future__ import annotations

import time

import pytest

from loadtests.workers.results import CLUSTER_SILENT_S, GONE_SILENT_S, Results, WorkerState
from services.kafka.admin import GroupView, group_view
from services.kafka.twin import MemoryBus

pytestmark = pytest.mark.unit

GROUP = "ndx.workers.run-1"


def _described(state: str, *clients: str, error: int = 0) -> dict[str, object]:
    """What DescribeGroupsResponse.to_object() gives for one group."""
    members = [
        {"member_id": f"m-{c}", "client_id": c, "client_host": "/127.0.0.1"} for c in clients
    ]
    return {
        "groups": [
            {
                "error_code": error,
                "group": GROUP,
                "state": state,
                "protocol_type": "consumer",
                "members": members,
            }
        ]
    }


def test_a_group_description_becomes_its_state_and_member_clients() -> None:
    view = group_view(_described("Stable", "ndxsim.worker.a", "ndxsim.worker.b"), GROUP)
    assert view == GroupView("Stable", frozenset({"ndxsim.worker.a", "ndxsim.worker.b"}))
    assert group_view(_described("Stable", "x", error=15), GROUP) is None  # coordinator away
    assert group_view(_described("Stable", "x"), "another.group") is None


def _results(heard_now: bool = True) -> tuple[Results, WorkerState]:
    results = Results(MemoryBus(), "run-1")
    w = WorkerState(name="a", pid=7, host="m2")
    results.workers[w.name] = w
    past = time.monotonic() - GONE_SILENT_S - 1
    w.last_seen = results.resumed = past
    if heard_now:
        results.last_heard = time.monotonic()  # the coordinator's own ticks come back: cluster up
    return results, w


def test_a_worker_out_of_the_group_and_unheard_is_dead() -> None:
    results, w = _results()
    assert results.dead(w, exited=False, left_group=True)
    assert w.dead and w.death == "it left the run's consumer group"


def test_a_silent_worker_still_in_the_group_is_not_declared_dead_by_a_timer_of_ours() -> None:
    results, w = _results()
    assert not results.dead(w, exited=False, left_group=False)


def test_a_worker_out_of_the_group_but_still_heard_is_not_dead_yet() -> None:
    results, w = _results()
    w.last_seen = time.monotonic()  # its last word may be on its way, after it left the group
    assert not results.dead(w, exited=False, left_group=True)


def test_while_the_cluster_is_away_only_a_very_long_silence_counts() -> None:
    results, w = _results(heard_now=False)
    results.last_heard = time.monotonic() - 30  # no tick for 30 s: a broker outage
    assert not results.dead(w, exited=False, left_group=True)
    w.last_seen = time.monotonic() - CLUSTER_SILENT_S - 1
    assert results.dead(w, exited=False, left_group=False)


def test_a_worker_that_finished_is_never_dead() -> None:
    from loadtests.workers.workplan import Done

    results, w = _results()
    w.done = Done.model_construct(run_id="run-1", worker="a")
    assert not results.dead(w, exited=True, left_group=True)
