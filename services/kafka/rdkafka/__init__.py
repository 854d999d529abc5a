"""The Kafka transport on librdkafka (confluent-kafka), for designs that measure the other client
library: the same protocols and guarantees as the aiokafka one, each client's blocking calls on
one poller thread that hands the event loop delivery reports and records in batches."""

from __future__ import annotations

from services.kafka.bus import KafkaTransport
from services.kafka.rdkafka.common import Delivered
from services.kafka.rdkafka.consumer import NativeConsumer
from services.kafka.rdkafka.producer import NativeProducer

__all__ = ["Delivered", "NativeConsumer", "NativeProducer", "NativeTransport"]


class NativeTransport(KafkaTransport):
    """Builds librdkafka clients for one cluster, tuned and logged in as KafkaTransport's are;
    topics it creates are made as KafkaTransport makes them."""

    producer_class = NativeProducer
    consumer_class = NativeConsumer
