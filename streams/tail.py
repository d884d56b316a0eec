"""Following the alert topic (``entbrain alerts tail``) with a group-less confluent consumer.

The filters are the alert stream's (:class:`streams.alert_stream.AlertFilter`); a repeated
``(alert_id, version)`` — written again after a worker crash — is shown once per run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from config import Settings
from streams.alert_stream import AlertFilter
from streams.errors import CliError
from streams.kafka_security import confluent_config


def tail_alerts(
    settings: Settings, from_beginning: bool = False, limit: int | None = None, idle_seconds: float | None = None,
    wanted: AlertFilter | None = None, district_of: Callable[[str], str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Alerts as they arrive; ``district_of`` gives an enterprise's district for a district filter."""
    wanted = wanted or AlertFilter()
    shown: set[tuple[str, int]] = set()
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
            alert = dict(orjson.loads(msg.value() or b"{}"))
            identity = (str(alert.get("alert_id")), int(alert.get("version", 0)))
            if identity in shown:
                continue
            shown.add(identity)
            uscc = str(alert.get("uscc", ""))
            district = district_of(uscc) if (wanted.districts and district_of) else ""
            if not wanted.wants(alert, district):
                continue
            seen += 1
            yield alert
    finally:
        consumer.close()
