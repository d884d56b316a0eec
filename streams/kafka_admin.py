"""Topics, producers and consumer reads through confluent-kafka.

Producers use the Java-compatible murmur2 partitioner, the same as the worker's aiokafka
client, so the three input topics stay co-partitioned by USCC with the state table.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, Message, Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from config import KafkaSettings
from streams.kafka_security import confluent_config


def ensure_topics(kafka: KafkaSettings, names: Iterable[str] | None = None, timeout: float = 30.0) -> list[str]:
    """Create the project's topics that do not exist yet; return those created."""
    topics = kafka.topics
    wanted = list(names) if names is not None else [
        *topics.inputs(), topics.scores, topics.alerts, topics.deadletter, topics.lists,
        *topics.compacted(), topics.notifications_deadletter, topics.resolve, topics.unmatched, topics.rows,
        topics.verdicts,
    ]  # fmt: skip
    compacted = set(topics.compacted())
    single = {topics.rows, topics.verdicts}  # one partition: one order for every reader
    return create_missing(kafka, [
        NewTopic(
            n, num_partitions=1 if n in single else kafka.partitions, replication_factor=kafka.replication_factor,
            config=_topic_config(n, compacted, topics.verdicts),
        )
        for n in wanted
    ], timeout)  # fmt: skip


def create_missing(kafka: KafkaSettings, wanted: list[NewTopic], timeout: float = 30.0) -> list[str]:
    """Create the topics of ``wanted`` that do not exist yet, and wait until the broker lists
    them (also those another process was creating at the same moment); return those created."""
    admin = AdminClient(confluent_config(kafka))
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [t for t in wanted if t.topic not in existing]
    if not missing:
        return []
    for future in admin.create_topics(missing).values():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    names = [t.topic for t in missing]
    wait_listed(admin, names, timeout)
    return names


def wait_listed(admin: AdminClient, names: Iterable[str], timeout: float = 30.0) -> None:
    """Wait until the broker's metadata lists every topic of ``names`` with its partitions.

    A topic another process is creating at the same moment answers ``TOPIC_ALREADY_EXISTS``
    before it is listed; a consumer group that joins then is assigned none of its partitions
    and does not look again for minutes.
    """
    wanted = list(names)
    deadline = time.monotonic() + timeout
    while True:
        listed = admin.list_topics(timeout=timeout).topics
        absent = [n for n in wanted if n not in listed or listed[n].error is not None or not listed[n].partitions]
        if not absent:
            return
        if time.monotonic() > deadline:
            raise KafkaException(f"topics not listed by the broker after {timeout:g} s: {', '.join(absent)}")
        time.sleep(0.2)


def _topic_config(name: str, compacted: set[str], verdicts: str) -> dict[str, str]:
    if name in compacted:
        return {"cleanup.policy": "compact"}
    if name == verdicts:  # the calibration is learned again from all of it on every start
        return {"retention.ms": "-1", "retention.bytes": "-1"}
    return {}


def make_producer(kafka: KafkaSettings, **overrides: object) -> Producer:
    conf: dict[str, object] = {
        **confluent_config(kafka),
        "enable.idempotence": True,
        "acks": "all",
        "partitioner": "murmur2_random",
        "linger.ms": 20,
        "compression.type": "lz4",
        "queue.buffering.max.messages": 500_000,
    }
    conf.update(overrides)
    return Producer(conf)


def _keep_forever(admin: AdminClient, names: list[str], timeout: float) -> None:
    """Input topics made before they were created with ``retention.ms=-1`` get it now."""
    if not names:
        return
    resources = [
        ConfigResource(ResourceType.TOPIC, name, incremental_configs=[
            ConfigEntry("retention.ms", "-1", incremental_operation=AlterConfigOpType.SET)])
        for name in names
    ]  # fmt: skip
    for future in admin.incremental_alter_configs(resources).values():
        future.result(timeout)


def consume_ready(consumer: Consumer, most: int, timeout: float) -> list[Message]:
    """Up to ``most`` messages, returned as soon as one has arrived (waiting at most ``timeout``).

    ``Consumer.consume(most, timeout)`` returns only when ``most`` messages are there or
    ``timeout`` has passed: on a quiet topic every message would wait out the timeout. This
    waits for the first and takes what else is already fetched without waiting.
    """
    first = consumer.consume(1, timeout)
    return first + consumer.consume(most - 1, 0) if first and most > 1 else first
