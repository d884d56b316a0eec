"""Reading a quiet topic: a message is handed on when it arrives (streams.kafka_admin.consume_ready).

The notifier reads the alerts topic this way. ``Consumer.consume(most, timeout)`` hands
nothing on until ``most`` messages are there or ``timeout`` has passed, so on a quiet topic
every alert waited out the timeout before its notification could start.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import NewTopic

from config import Settings
from streams.kafka_admin import consume_ready, create_missing, make_producer
from streams.kafka_security import confluent_config

pytestmark = pytest.mark.kafka

LONG = 60.0  # far longer than a message takes to arrive: waiting it out would be plain


def test_a_message_on_a_quiet_topic_is_handed_on_without_waiting_out_the_timeout(kafka_bootstrap: str) -> None:
    kafka = Settings(kafka={"bootstrap_servers": kafka_bootstrap}).kafka
    topic = f"entbrain-test-quiet-{uuid.uuid4().hex[:8]}"
    create_missing(kafka, [NewTopic(topic, num_partitions=1, replication_factor=1)])
    consumer = Consumer({**confluent_config(kafka), "group.id": f"test-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.assign([TopicPartition(topic, 0, 0)])
    producer = make_producer(kafka)
    try:
        for i in range(3):
            producer.produce(topic, key=b"k", value=f"alert {i}".encode())
        assert producer.flush(30) == 0
        started = time.monotonic()
        got = consume_ready(consumer, 500, LONG)
        while len(got) < 3 and time.monotonic() - started < LONG:
            got += consume_ready(consumer, 500, LONG)
        waited = time.monotonic() - started
        assert [m.value() for m in got] == [b"alert 0", b"alert 1", b"alert 2"]
        assert waited < LONG / 2, f"waited {waited:.1f} s for 3 messages already on the topic"
        assert consume_ready(consumer, 500, 0.5) == []  # nothing more: the timeout still bounds the wait
    finally:
        consumer.close()
