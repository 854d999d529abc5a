"""Who may do what on the cluster: one ACL table generated from the topology, deny by default.

Pure data: provisioning turns each row into a Kafka ACL, `ndxsim acls` prints them. Kafka's
READ and WRITE imply DESCRIBE, so no row grants DESCRIBE alone. No row grants CREATE, DELETE or
ALL on a topic: only the stack's admin (a super user, no rows) creates or deletes topics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from services.wire import topics as t
from services.world import Topology

ADMIN = "admin"  # the stack's super user: creates topics and the other users
REGISTRY = "registry"
MONITOR = "monitor"
DRIVER = "ndxsim"  # the load driver's control side (its played agencies use their own)

Resource = Literal["TOPIC", "GROUP"]
Pattern = Literal["LITERAL", "PREFIXED"]
Operation = Literal["READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS", "ALL"]


@dataclass(frozen=True, slots=True)
class AclRow:
    """One ALLOW grant: principal may do operation on the resource(s) the pattern names."""

    principal: str
    resource: Resource
    pattern: Pattern
    name: str
    operation: Operation
    why: str = field(default="", compare=False)


def principals(topology: Topology) -> list[str]:
    """Every identity a stack on this topology needs, besides the admin."""
    return [REGISTRY, MONITOR, DRIVER, *topology.agencies(), *(p.id for p in topology.platforms)]


def process_identities(topology: Topology) -> dict[str, list[str]]:
    """Which identities each process of the stack holds (and so finds in its credentials file)."""
    return {
        REGISTRY: [REGISTRY],
        MONITOR: [MONITOR],
        "ministry": [m.id for m in topology.ministries],
        "province": [p.id for p in topology.provinces],
        # the driver plays the agencies it loads and the platforms sharing sellers
        DRIVER: [DRIVER, *topology.agencies(), *(p.id for p in topology.platforms)],
        "tax": topology.reconcilers(),
    }


def _topic(who: str, spec: t.TopicSpec, op: Operation, why: str) -> AclRow:
    return AclRow(who, "TOPIC", "LITERAL", spec.name, op, why)


def _requester(agency: str, roles: set[str], province: bool) -> list[AclRow]:
    rows = [
        _topic(agency, t.VERIFY, "WRITE", "asks for verifications"),
        AclRow(agency, "TOPIC", "LITERAL", t.reply_topic(agency), "READ", "its own answers"),
    ]
    if "lookup" in roles:
        rows.append(_topic(agency, t.LOOKUP, "WRITE", "asks for agreed fields"))
    if "publish_civil_events" in roles:
        rows.append(_topic(agency, t.CIVIL, "WRITE", "registers births and deaths"))
    if province:
        rows.append(_topic(agency, t.DOSSIERS, "WRITE", "records dossiers"))
    if "reconcile_sellers" in roles:
        rows += [
            _topic(agency, t.SELLERS, "READ", "reads the sellers platforms share"),
            AclRow(
                agency, "GROUP", "LITERAL", t.TAX_GROUP, "READ", "shares the platforms' batches"
            ),
            _topic(agency, t.BULK, "WRITE", "asks for bulk verifications on their own lane"),
            AclRow(
                agency, "TOPIC", "LITERAL", t.bulk_reply_topic(agency), "READ", "its bulk answers"
            ),
            _topic(agency, t.RECONCILED, "WRITE", "publishes what it reconciled"),
        ]
        if "subscribe_changes" not in roles:  # else granted already
            rows.append(_topic(agency, t.DLQ, "WRITE", "dead-letters batches it cannot reconcile"))
    if "subscribe_changes" in roles:
        rows += [
            _topic(agency, t.CHANGES, "READ", "receives the change feed"),
            AclRow(agency, "GROUP", "LITERAL", t.change_group(agency), "READ", "its feed group"),
            _topic(agency, t.DLQ, "WRITE", "dead-letters undecodable changes"),
        ]
    return rows


def _registry() -> list[AclRow]:
    r = REGISTRY
    return [
        _topic(r, t.VERIFY, "READ", "answers verifications"),
        _topic(r, t.LOOKUP, "READ", "answers lookups"),
        _topic(r, t.CIVIL, "READ", "applies civil events"),
        AclRow(r, "GROUP", "LITERAL", t.REGISTRY_GROUP, "READ", "shares requests"),
        _topic(r, t.BULK, "READ", "answers bulk verifications on their own lane"),
        AclRow(r, "GROUP", "LITERAL", t.BULK_GROUP, "READ", "shares the bulk lane"),
        _topic(r, t.CHANGES, "READ", "replays its overlay at start"),
        AclRow(r, "TOPIC", "PREFIXED", t.REPLY_PREFIX, "WRITE", "answers every requester"),
        _topic(r, t.CHANGES, "WRITE", "publishes changes"),
        _topic(r, t.AUDIT, "WRITE", "audits every transaction"),
        _topic(r, t.DLQ, "WRITE", "dead-letters bad requests"),
        _topic(r, t.CONTROL, "READ", "joins only runs it agrees with"),
    ]


def _monitor() -> list[AclRow]:
    m = MONITOR
    return [
        _topic(m, t.AUDIT, "READ", "tallies transactions"),
        _topic(m, t.DOSSIERS, "READ", "tallies dossiers"),
        AclRow(m, "GROUP", "PREFIXED", t.MONITOR_GROUP_PREFIX, "READ", "one group per monitor"),
        _topic(m, t.DLQ, "WRITE", "dead-letters bad records"),
    ]


def _platform(platform: str) -> list[AclRow]:
    return [_topic(platform, t.SELLERS, "WRITE", "shares its sellers with the tax authority")]


def _driver() -> list[AclRow]:
    d, run, workers = DRIVER, t.RUN_TOPIC_PREFIX, t.DRIVER_GROUP_PREFIX
    return [
        _topic(d, t.CHANGES, "READ", "confirms deaths"),
        _topic(d, t.RECONCILED, "READ", "judges each reconciled seller against the truth"),
        *(
            AclRow(d, "TOPIC", "PREFIXED", run, op, "coordinates workers")
            for op in ("READ", "WRITE", "DESCRIBE_CONFIGS")
        ),
        AclRow(d, "GROUP", "PREFIXED", workers, "ALL", "coordinates workers"),
    ]


def acl_table(topology: Topology) -> list[AclRow]:
    """Every grant on a stack running this topology; anything not listed is denied."""
    rows = [*_registry(), *_monitor(), *_driver()]
    for m in topology.ministries:
        rows += _requester(m.id, set(m.roles), province=False)
    for p in topology.provinces:
        rows += _requester(p.id, set(), province=True)
    for platform in topology.platforms:
        rows += _platform(platform.id)
    return rows
