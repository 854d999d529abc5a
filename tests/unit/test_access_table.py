"""The ACL table generated from a topology grants each agency its own flows and nothing more."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loadtests.__main__ import app
from services.security.access import (
    ADMIN,
    DRIVER,
    MONITOR,
    REGISTRY,
    AclRow,
    acl_table,
    principals,
    process_identities,
)
from services.wire import topics as t
from services.world.topology import Topology, load_topology

REPO = Path(__file__).resolve().parents[2]
TOPOLOGIES = REPO / "loadtests" / "topologies"


@pytest.fixture(scope="module", params=["demo", "vn-2024", "vn-2025"])
def world(request: pytest.FixtureRequest) -> Topology:
    return load_topology(TOPOLOGIES / f"{request.param}.yaml")


def grants(row: AclRow, resource: str, name: str, operation: str) -> bool:
    """Kafka's matching: a literal or prefix name, the operation itself or ALL."""
    named = row.name == name if row.pattern == "LITERAL" else name.startswith(row.name)
    return row.resource == resource and named and row.operation in (operation, "ALL")


def who(rows: list[AclRow], operation: str, name: str, resource: str = "TOPIC") -> set[str]:
    return {r.principal for r in rows if grants(r, resource, name, operation)}


def test_only_the_registry_writes_changes_replies_and_audit(world: Topology) -> None:
    rows = acl_table(world)

    assert who(rows, "WRITE", t.CHANGES.name) == {REGISTRY}
    assert who(rows, "WRITE", t.AUDIT.name) == {REGISTRY}
    for agency in world.agencies():
        assert who(rows, "WRITE", t.reply_topic(agency)) == {REGISTRY}


def test_an_agency_reads_only_its_own_reply_topic(world: Topology) -> None:
    rows = acl_table(world)

    for agency in world.agencies():
        assert who(rows, "READ", t.reply_topic(agency)) == {agency}
    readable = {r.name for r in rows if r.principal == "province.001" and r.operation == "READ"}
    assert readable == {t.reply_topic("province.001")}


def test_only_the_registry_reads_requests(world: Topology) -> None:
    rows = acl_table(world)

    for spec in (t.VERIFY, t.LOOKUP, t.CIVIL):
        assert who(rows, "READ", spec.name) == {REGISTRY}
    assert who(rows, "READ", t.REGISTRY_GROUP, "GROUP") == {REGISTRY}


def test_request_topics_follow_the_roles(world: Topology) -> None:
    rows = acl_table(world)
    roles = {m.id: set(m.roles) for m in world.ministries}

    assert who(rows, "WRITE", t.VERIFY.name) == set(world.agencies())
    assert who(rows, "WRITE", t.LOOKUP.name) == {m for m, r in roles.items() if "lookup" in r}
    assert who(rows, "WRITE", t.CIVIL.name) == {
        m for m, r in roles.items() if "publish_civil_events" in r
    }
    assert who(rows, "WRITE", t.DOSSIERS.name) == {p.id for p in world.provinces}


def test_only_subscribers_the_registry_and_the_driver_read_the_change_feed(world: Topology) -> None:
    rows = acl_table(world)
    subscribers = {m.id for m in world.ministries if "subscribe_changes" in m.roles}

    assert subscribers
    assert who(rows, "READ", t.CHANGES.name) == subscribers | {REGISTRY, DRIVER}
    for m in world.ministries:
        expected = {m.id} if m.id in subscribers else set()
        assert who(rows, "READ", t.change_group(m.id), "GROUP") == expected


def test_only_the_monitor_reads_audit_and_dossiers(world: Topology) -> None:
    rows = acl_table(world)

    assert who(rows, "READ", t.AUDIT.name) == {MONITOR}
    assert who(rows, "READ", t.DOSSIERS.name) == {MONITOR}
    assert who(rows, "READ", t.MONITOR_GROUP_PREFIX + "monitor-1", "GROUP") == {MONITOR}


def test_nobody_may_create_delete_or_alter_a_topic(world: Topology) -> None:
    rows = acl_table(world)

    for row in rows:
        if row.resource == "TOPIC":
            assert row.operation in ("READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS"), row
    assert ADMIN not in {r.principal for r in rows}  # a super user needs no grant


def test_every_grant_is_distinct_and_names_a_routing_table_topic(world: Topology) -> None:
    rows = acl_table(world)
    known = {s.name for s in t.topics_for(world.agencies(), bulk_by=world.reconcilers())}
    prefixes = {t.REPLY_PREFIX, t.RUN_TOPIC_PREFIX}

    assert [row for row, n in Counter(rows).items() if n > 1] == []
    for row in rows:
        if row.resource == "TOPIC":
            assert row.name in (prefixes if row.pattern == "PREFIXED" else known), row
    assert {r.principal for r in rows} == set(principals(world))


def test_each_agency_lives_in_one_service_process_and_the_driver_holds_them_all(
    world: Topology,
) -> None:
    held = process_identities(world)
    services = [p for name, ps in held.items() if name not in (DRIVER, "tax") for p in ps]
    platforms = {p.id for p in world.platforms}

    assert sorted(services) == sorted([REGISTRY, MONITOR, *world.agencies()])
    assert held["tax"] == ["ministry.tax"]  # the tax authority's reconciler: its own process
    assert set(held[DRIVER]) == {DRIVER, *world.agencies(), *platforms}


def test_acls_command_prints_the_table_and_refuses_a_bad_topology(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["acls", "--topology", str(TOPOLOGIES / "demo.yaml")])
    assert shown.exit_code == 0, shown.output
    assert "User:province.079" in shown.output
    assert "ndx.replies.province.079" in shown.output

    bad = tmp_path / "topology.yaml"
    bad.write_text("name: x\ndescription: y\nministry_share: 2\nprovinces: []\n")
    refused = runner.invoke(app, ["acls", "--topology", str(bad)])
    assert refused.exit_code == 2
    assert f"{bad}: ministry_share" in refused.output
