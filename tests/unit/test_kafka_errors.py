"""No Kafka client's exception leaves services.kafka: callers catch the package's own errors."""

from __future__ import annotations

import socket
import time

import pytest
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
)

from loadtests.cluster.probe import metadata_brokers
from services.kafka.admin import count_brokers
from services.kafka.client import client_errors
from services.kafka.transport import BrokerUnreachable, NotAuthorized, TransportError


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("raised", "caught"),
    [
        (TopicAuthorizationFailedError("ndx.replies.x"), NotAuthorized),
        (GroupAuthorizationFailedError("ndx.workers.x"), NotAuthorized),
        (KafkaConnectionError("refused"), BrokerUnreachable),
        (KafkaTimeoutError(), TransportError),
    ],
)
def test_an_aiokafka_error_comes_out_as_the_packages_own(
    raised: Exception, caught: type[TransportError]
) -> None:
    with pytest.raises(caught, match=r"^reading it: ") as got, client_errors("reading it"):
        raise raised
    assert type(got.value) is caught


def test_a_node_with_nothing_listening_serves_no_brokers_at_once() -> None:
    began = time.monotonic()
    assert metadata_brokers(closed_port()) == 0
    assert time.monotonic() - began < 1.0


def test_asking_an_absent_cluster_for_its_brokers_says_it_is_unreachable() -> None:
    with pytest.raises(BrokerUnreachable, match=r"metadata from 127\.0\.0\.1"):
        count_brokers(f"127.0.0.1:{closed_port()}", None, 0.5)
