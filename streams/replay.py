"""Replaying history: move the worker's consumer group back on the input topics.

The worker must be stopped: a group with live members cannot be moved, and
:func:`live_members` names them. :func:`plan` finds, per input partition, the group's
committed offset, the target (first record at or after a time, an explicit offset, or
the beginning) and how many records the worker will read again.

A replayed record is a redelivery for the enterprise states: at or below the offset a
state last applied from that partition, it changes nothing — no state, no row, no alert.
Replay re-reads; to re-derive everything use :mod:`streams.rebuild`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from config import Settings
from streams.errors import CliError
from streams.kafka_security import confluent_config

NO_OFFSET = -1001  # librdkafka's OFFSET_INVALID: the group has committed nothing there


@dataclass(frozen=True)
class PartitionPlan:
    topic: str
    partition: int
    committed: int | None  # the group's committed offset (None: nothing committed)
    target: int
    low: int
    high: int

    @property
    def to_read(self) -> int:
        """Records the worker will read from the target to the current end."""
        return max(0, self.high - self.target)

    @property
    def redelivered(self) -> int:
        """Of those, records the group had already committed (redeliveries for the states)."""
        done = self.committed if self.committed is not None else self.low
        return max(0, min(done, self.high) - self.target)


@dataclass(frozen=True)
class ReplayPlan:
    partitions: list[PartitionPlan]

    @property
    def messages(self) -> int:
        """How many messages the worker will read again (up to the current end)."""
        return sum(p.to_read for p in self.partitions)

    @property
    def redelivered(self) -> int:
        return sum(p.redelivered for p in self.partitions)

    def topic_partitions(self) -> list[TopicPartition]:
        return [TopicPartition(p.topic, p.partition, p.target) for p in self.partitions]


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str

    def __str__(self) -> str:
        return f"{self.client_id or '?'}@{self.host or '?'} ({self.member_id})"


def parse_offsets(text: str, inputs: tuple[str, ...]) -> dict[tuple[str, int], int]:
    """``topic:partition:offset,…`` → ``{(topic, partition): offset}``; only input topics.

    >>> parse_offsets("enterprise.tax:0:15, enterprise.tax:1:0", ("enterprise.tax",))
    {('enterprise.tax', 0): 15, ('enterprise.tax', 1): 0}
    """
    found: dict[tuple[str, int], int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        topic, _, rest = item.rpartition(":")
        topic, _, partition = topic.rpartition(":")
        if not topic or not partition.isdigit() or not rest.lstrip("-").isdigit():
            raise CliError(f"--offsets {item!r} is not topic:partition:offset")
        if topic not in inputs:
            raise CliError(f"--offsets names {topic!r}, which is not an input topic ({', '.join(inputs)})")
        if int(rest) < 0:
            raise CliError(f"--offsets {item!r}: the offset must be 0 or more")
        found[(topic, int(partition))] = int(rest)
    if not found:
        raise CliError("--offsets needs at least one topic:partition:offset")
    return found


def live_members(settings: Settings, group: str | None = None) -> list[Member]:
    """The members of the worker's consumer group (an empty list when it is stopped)."""
    group = group or settings.worker.app_id
    admin = AdminClient(confluent_config(settings.kafka))
    try:
        description = admin.describe_consumer_groups([group])[group].result(timeout=15)
    except KafkaException as exc:
        raise CliError(f"cannot describe the consumer group {group!r}: {exc.args[0]}") from None
    return [Member(m.member_id, m.client_id, m.host) for m in description.members]


def refuse_while_running(settings: Settings, doing: str) -> None:
    members = live_members(settings)
    if members:
        names = ", ".join(map(str, members))
        raise CliError(f"cannot {doing}: the worker group {settings.worker.app_id!r} has {len(members)} live "
                       f"member(s): {names}; stop the worker first")  # fmt: skip


def plan(
    settings: Settings, since: datetime | None = None, offsets: dict[tuple[str, int], int] | None = None
) -> ReplayPlan:
    """Per input partition: committed offset, target offset (``since``, ``offsets`` or the beginning)."""
    kafka = settings.kafka
    consumer = Consumer({**confluent_config(kafka), "group.id": settings.worker.app_id, "enable.auto.commit": False})
    try:
        wanted = set(offsets or {})
        parts: list[PartitionPlan] = []
        for topic in kafka.topics.inputs():
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None:
                raise CliError(f"topic {topic} does not exist on {kafka.bootstrap_servers}")
            numbers = sorted(meta.partitions)
            committed = {tp.partition: tp.offset for tp in
                         consumer.committed([TopicPartition(topic, p) for p in numbers], timeout=10)}  # fmt: skip
            for p in numbers:
                if offsets is not None and (topic, p) not in offsets:
                    continue
                wanted.discard((topic, p))
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if offsets is not None:
                    target = offsets[(topic, p)]
                    if not low <= target <= high:
                        raise CliError(f"--offsets {topic}:{p}:{target} is outside the partition's {low}..{high}")
                elif since is not None:
                    found = consumer.offsets_for_times([TopicPartition(topic, p, int(since.timestamp() * 1000))],
                                                       timeout=10)  # fmt: skip
                    target = found[0].offset if found[0].offset >= 0 else high
                else:
                    target = low
                done = committed.get(p, NO_OFFSET)
                parts.append(PartitionPlan(topic, p, done if done >= 0 else None, target, low, high))
        if wanted:
            missing = ", ".join(f"{t}:{p}" for t, p in sorted(wanted))
            raise CliError(f"--offsets names partitions that do not exist: {missing}")
        return ReplayPlan(parts)
    finally:
        consumer.close()


def reset_group(settings: Settings, replay: ReplayPlan) -> None:
    """Commit the plan's offsets for the worker's group; refuses while the worker runs."""
    group = settings.worker.app_id
    refuse_while_running(settings, "move the consumer group")
    admin = AdminClient(confluent_config(settings.kafka))
    futures = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, replay.topic_partitions())])
    for future in futures.values():
        future.result(timeout=15)
