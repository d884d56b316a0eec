"""Compacted topics as key → latest value stores (subscriptions, silences, the delivery ledger).

:class:`CompactedReader` follows every partition of some topics from the beginning, without a
consumer group; :func:`read_all` reads them to their end once (the CLI); :func:`put` writes
one value, or a tombstone (``None``), and waits for the broker's acknowledgement.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from config import KafkaSettings
from streams.kafka_admin import consume_ready, ensure_topics, make_producer
from streams.kafka_security import confluent_config

Record = tuple[str, str, bytes | None]  # (topic, key, value or tombstone)


class CompactedReader:
    """Reads topics from the beginning; ``at_end`` once it has reached every end seen at start."""

    def __init__(self, kafka: KafkaSettings, topics: Iterable[str], timeout: float = 10.0) -> None:
        self._consumer = Consumer({
            **confluent_config(kafka), "group.id": f"entbrain-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "enable.partition.eof": True,
        })  # fmt: skip
        parts: list[TopicPartition] = []
        self._ends: dict[tuple[str, int], int] = {}
        for topic in topics:
            meta = self._consumer.list_topics(topic, timeout=timeout).topics[topic]
            if meta.error is not None:
                raise KafkaException(meta.error)
            for p in meta.partitions:
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
                low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
                if high > low:
                    self._ends[(topic, p)] = high
        self._consumer.assign(parts)
        self.empty = not self._ends

    @property
    def at_end(self) -> bool:
        return not self._ends

    def poll(self, timeout: float = 0.2, max_records: int = 1000) -> list[Record]:
        """What arrived (blocking up to ``timeout``); call from one thread only."""
        out: list[Record] = []
        for msg in consume_ready(self._consumer, max_records, timeout):
            topic, partition = str(msg.topic()), int(msg.partition() or 0)
            if msg.error():
                continue  # partition EOF (and transient errors): the ends below decide
            offset = int(msg.offset() or 0)
            end = self._ends.get((topic, partition))
            if end is not None and offset + 1 >= end:
                del self._ends[(topic, partition)]
            key = msg.key()
            out.append((topic, key.decode() if isinstance(key, bytes) else str(key), msg.value()))
        return out

    def close(self) -> None:
        self._consumer.close()


def read_all(kafka: KafkaSettings, topic: str, timeout: float = 30.0) -> dict[str, bytes]:
    """The latest value of every live key of ``topic`` (tombstoned keys left out)."""
    import time

    ensure_topics(kafka, [topic])
    reader = CompactedReader(kafka, [topic])
    latest: dict[str, bytes | None] = {}
    deadline = time.monotonic() + timeout
    try:
        while not reader.at_end and time.monotonic() < deadline:
            for _, key, value in reader.poll(0.5):
                latest[key] = value
    finally:
        reader.close()
    if not reader.at_end:
        raise TimeoutError(f"{topic}: not read to its end within {timeout:g} s")
    return {k: v for k, v in latest.items() if v is not None}


def put(kafka: KafkaSettings, topic: str, key: str, value: bytes | None, timeout: float = 30.0) -> None:
    """Write ``key`` → ``value`` (``None``: delete) and wait for the broker's acknowledgement."""
    ensure_topics(kafka, [topic])
    producer = make_producer(kafka, **{"linger.ms": 0})
    errors: list[str] = []
    producer.produce(topic, key=key.encode(), value=value,
                     on_delivery=lambda err, _msg: errors.append(str(err)) if err else None)  # fmt: skip
    if producer.flush(timeout) != 0:
        raise TimeoutError(f"{topic}: the write was not acknowledged within {timeout:g} s")
    if errors:
        raise KafkaException(errors[0])
