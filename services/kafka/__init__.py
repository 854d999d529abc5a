"""The one door to Kafka: client protocols, the aiokafka transport, its librdkafka sibling and
its in-memory twin, the Admin API (users, ACLs, metadata, groups), and plain clients for the
load side's control plane.
Only this package imports a Kafka client library; callers catch its errors (transport.py)."""

from __future__ import annotations

from services.kafka.admin import ClusterAdmin, GroupDescriber, GroupView, count_brokers
from services.kafka.bus import KafkaTransport
from services.kafka.choice import ClusterTransport, transport_for
from services.kafka.offsets import skip_to_end
from services.kafka.plain import GroupMember, read_briefly, write_to_partitions
from services.kafka.probe import KafkaProbe
from services.kafka.rdkafka import NativeTransport
from services.kafka.transport import (
    BrokerUnreachable,
    Consumer,
    NotAuthorized,
    Producer,
    Record,
    Transport,
    TransportError,
)

__all__ = [
    "BrokerUnreachable",
    "ClusterAdmin",
    "ClusterTransport",
    "Consumer",
    "GroupDescriber",
    "GroupMember",
    "GroupView",
    "KafkaProbe",
    "KafkaTransport",
    "NativeTransport",
    "NotAuthorized",
    "Producer",
    "Record",
    "Transport",
    "TransportError",
    "count_brokers",
    "read_briefly",
    "skip_to_end",
    "transport_for",
    "write_to_partitions",
]
