"""The workers' control plane is the load side's, yet lies where the ACL table lets the driver
work: a stack that plays runs makes its topics beside the services' own."""

from __future__ import annotations

from pathlib import Path

from loadtests.stack.runtopics import MAX_SHARES, RUN_TOPICS, WORK_SHARES, stack_topics
from loadtests.workers.workplan import workers_group
from services.security.access import DRIVER, acl_table
from services.wire.topics import CONTROL, topics_for
from services.world.topology import load_topology

DEMO = Path(__file__).resolve().parents[2] / "loadtests" / "topologies" / "demo.yaml"


def test_the_driver_may_read_and_write_every_run_topic_and_own_every_run_group() -> None:
    rows = [r for r in acl_table(load_topology(DEMO)) if r.principal == DRIVER]

    def allowed(resource: str, name: str, operation: str) -> bool:
        return any(
            r.resource == resource
            and r.pattern == "PREFIXED"
            and name.startswith(r.name)
            and r.operation in (operation, "ALL")
            for r in rows
        )

    for spec in RUN_TOPICS:
        assert allowed("TOPIC", spec.name, "READ") and allowed("TOPIC", spec.name, "WRITE"), spec
    assert allowed("GROUP", workers_group("20260101-000000-demo"), "READ")


def test_the_services_topics_leave_the_run_topics_to_the_stack() -> None:
    agencies = load_topology(DEMO).agencies()
    services = {s.name for s in topics_for(agencies)}
    stack = [s.name for s in stack_topics(agencies)]

    assert CONTROL.name in services  # the registry reads the run under way
    assert not services & {s.name for s in RUN_TOPICS}
    assert sorted(stack) == sorted([*services, *(s.name for s in RUN_TOPICS)])
    assert WORK_SHARES.partitions == MAX_SHARES  # one partition per share
