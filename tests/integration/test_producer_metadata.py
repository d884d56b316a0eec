"""The producer keeps knowing the changelog topics it partitions for itself (real broker)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from streams.harness import isolated_env, settings_from
from streams.kafka_admin import ensure_topics
from streams.producer_metadata import know_partitions, untracked

pytestmark = pytest.mark.kafka


def _partition(producer: AIOKafkaProducer, topic: str) -> int:
    # what faust's ``key_partition`` does for a table built with ``use_partitioner=True``
    return int(producer._partition(topic, None, None, None, b"91330100MA27XL0A1B", None))  # type: ignore[attr-defined]


def test_a_send_to_another_topic_first_no_longer_hides_the_changelog(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    settings = settings_from(isolated_env(tmp_path, kafka_bootstrap))
    other, changelog = f"other-{uuid.uuid4().hex[:8]}", f"states-changelog-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings.kafka, [other, changelog])

    async def scenario() -> tuple[list[str], list[str], list[str], int]:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(other, b"a dead letter, say")  # the client now tracks only ``other``
            await producer.client.force_metadata_update()
            hidden = untracked(producer, [other, changelog])
            with pytest.raises(TypeError):
                _partition(producer, changelog)  # the worker's crash before the fix
            fetched = await know_partitions(producer, [other, changelog])
            await producer.client.force_metadata_update()  # a later refresh keeps it
            return hidden, fetched, untracked(producer, [other, changelog]), _partition(producer, changelog)
        finally:
            await producer.stop()

    hidden, fetched, after, partition = asyncio.run(scenario())
    assert hidden == [changelog]
    assert fetched == [changelog]
    assert after == []
    assert 0 <= partition < settings.kafka.partitions
