"""Keeping the producer's view of the changelog topics it partitions for itself.

A faust table built with ``use_partitioner=True`` asks the producer for a key's partition
*before* it sends (``key_partition``), from the producer's cached cluster metadata. The
Kafka client (aiokafka) refreshes that cache only for the topics it was told to track —
and replaces the whole cache with the answer. So once the worker has sent anything to
another topic (a dead letter, an identity, an alert) before its first state write, the
changelog topics drop out of the cache, ``key_partition`` finds no partitions and the batch
fails with ``TypeError: 'NoneType' object is not iterable``. Asking for a topic's
partitions makes the client track it for good.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


def untracked(producer: Any, topics: Iterable[str]) -> list[str]:
    """The topics among ``topics`` whose partitions ``producer`` (AIOKafkaProducer) does not know now."""
    cluster = producer.client.cluster
    return [topic for topic in topics if not cluster.partitions_for_topic(topic)]


async def know_partitions(producer: Any, topics: Iterable[str]) -> list[str]:
    """Make ``producer`` know and keep tracking the partitions of ``topics``; the ones it had to fetch."""
    missing = untracked(producer, topics)
    for topic in missing:
        await producer.partitions_for(topic)  # adds the topic to the tracked set, waits for its metadata
    return missing


async def know_changelogs(app: Any) -> list[str]:
    """``know_partitions`` for the changelog topics of every table of the faust ``app``."""
    names = [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    return await know_partitions(app.producer._ensure_producer(), names)


async def flush_knowing_changelogs(app: Any, attempts: int = 10) -> None:
    """The commit protocol's producer flush: then know the changelogs again, right before the
    state writes (the sends just flushed refreshed the metadata and may have dropped them).

    Fetching a changelog's partitions waits, and meanwhile another task's send to a topic
    new to the producer (a frontier on the model feed, say) can replace the cache again; so
    it ends only once a check finds every changelog known *without* waiting: the state
    writes that follow run before any other task."""
    await app.producer.flush()
    for _ in range(attempts):
        fetched = await know_changelogs(app)
        if not fetched:
            return
        log.info("the producer fetched the partitions of %s before writing states", ", ".join(fetched))
