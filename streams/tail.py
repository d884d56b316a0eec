"""Following the alert topic (``entbrain alerts tail``) with a group-less confluent consumer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from config import Settings
from streams.errors import CliError
from streams.kafka_security import confluent_config


def tail_alerts(
    settings: Settings, from_beginning: bool = False, limit: int | None = None, idle_seconds: float | None = None
) -> Iterator[dict[str, Any]]:
    topic = settings.kafka.topics.alerts
    consumer = Consumer({**confluent_config(settings.kafka),
                         "group.id": f"entbrain-tail-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})  # fmt: skip
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            raise CliError(f"topic {topic} does not exist on {settings.kafka.bootstrap_servers}")
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        consumer.assign([TopicPartition(topic, p, start) for p in meta.partitions])
        seen, last = 0, time.monotonic()
        while limit is None or seen < limit:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                if idle_seconds is not None and time.monotonic() - last > idle_seconds:
                    return
                continue
            last = time.monotonic()
            seen += 1
            yield dict(orjson.loads(msg.value() or b"{}"))
    finally:
        consumer.close()
