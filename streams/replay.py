"""Replaying history: move the worker's consumer group back on the input topics.

The worker must be stopped (a group with live members cannot be moved). After the reset the
next ``entbrain worker`` re-reads from the chosen point. Re-processing leaves query results
unchanged: events already in an enterprise's state count as duplicates, and rows written
again collapse on the ClickHouse tables' keys.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from config import Settings
from streams.errors import CliError
from streams.kafka_security import confluent_config


@dataclass(frozen=True)
class ReplayPlan:
    partitions: list[TopicPartition]
    messages: int  # how many messages the worker will read again (up to the current end)


def plan(settings: Settings, since: datetime | None) -> ReplayPlan:
    """Per input partition, the first offset at or after ``since`` (or the beginning)."""
    kafka = settings.kafka
    consumer = Consumer({**confluent_config(kafka), "group.id": f"replay-plan-{uuid.uuid4().hex}"})
    try:
        parts: list[TopicPartition] = []
        messages = 0
        for topic in kafka.topics.inputs():
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None:
                raise CliError(f"topic {topic} does not exist on {kafka.bootstrap_servers}")
            for p in sorted(meta.partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                offset = low
                if since is not None:
                    found = consumer.offsets_for_times([TopicPartition(topic, p, int(since.timestamp() * 1000))], timeout=10)
                    offset = found[0].offset if found[0].offset >= 0 else high
                parts.append(TopicPartition(topic, p, offset))
                messages += max(0, high - offset)
        return ReplayPlan(parts, messages)
    finally:
        consumer.close()


def reset_group(settings: Settings, replay: ReplayPlan) -> None:
    """Commit the plan's offsets for the worker's group; refuses while the worker runs."""
    group = settings.worker.app_id
    admin = AdminClient(confluent_config(settings.kafka))
    description = admin.describe_consumer_groups([group])[group].result(timeout=15)
    if description.members:
        raise CliError(f"the worker group {group!r} has {len(description.members)} live member(s); stop the worker first")
    futures = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, replay.partitions)])
    for future in futures.values():
        future.result(timeout=15)
