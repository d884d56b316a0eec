"""The producer knows the changelogs' partitions when the commit protocol writes states."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from streams.producer_metadata import flush_knowing_changelogs


class Cluster:
    def __init__(self) -> None:
        self.known: set[str] = set()

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0, 1} if topic in self.known else None


class Producer:
    """Fetching one topic's partitions waits; meanwhile another task's first send to a new
    topic replaces the cache (aiokafka refreshes only the tracked topics, the first time)."""

    def __init__(self) -> None:
        self.client = SimpleNamespace(cluster=Cluster())
        self.fetches = 0

    async def partitions_for(self, topic: str) -> set[int]:
        self.fetches += 1
        self.client.cluster.known.add(topic)
        await asyncio.sleep(0)
        if self.fetches == 1:
            self.client.cluster.known = {"model-feed"}  # the other task's send: the cache replaced
        return {0, 1}


def app_with(producer: Producer) -> Any:
    async def flush() -> None:
        return None

    changelog = SimpleNamespace(changelog_topic=SimpleNamespace(get_topic_name=lambda: "app-enterprise_state-changelog"))
    return SimpleNamespace(producer=SimpleNamespace(flush=flush, _ensure_producer=lambda: producer),
                           tables={"enterprise_state": changelog})  # fmt: skip


def test_the_changelog_is_known_after_the_flush_even_when_a_fetch_lost_it_again() -> None:
    producer = Producer()
    asyncio.run(flush_knowing_changelogs(app_with(producer)))
    assert producer.client.cluster.partitions_for_topic("app-enterprise_state-changelog") == {0, 1}
    assert producer.fetches == 2
