"""Event-time alignment of the co-partitioned input topics.

The three input topics are consumed independently: during a backlog (a year of files
ingested at once, a rebuild, a worker catching up after a crash) one topic runs far ahead
of another, so state that combines sources would see months that do not belong together.
Like Kafka Streams (``max.task.idle.ms``), the worker merges the partitions that share a
partition number: it releases the record with the earliest timestamp among the heads of
the group, and holds a group while one of its partitions has records still to fetch and
none buffered — for at most ``max_idle`` seconds. Live, a partition that looks caught up
may only look so (its high watermark is as old as its last fetch): a record goes while
another partition of its group is empty only once it has waited ``settle`` seconds.

The time is the record's Kafka timestamp: entbrain's producers stamp each record with its
business send time, strictly increasing in production order (:mod:`streams.send_times`),
so with every partition of a group buffered or caught up the merge reproduces the
production order — the same whether the records arrived live or as a backlog. Each
partition stays in offset order. Held records are not acknowledged, so their offsets are not
committed and a crash re-reads them.

Memory is bounded: past ``max_held`` records held in one group the earliest head is
released without waiting (counted as ``forced``).

>>> aligner = EventTimeAligner(("reg", "tax"), max_idle=10.0)
>>> for topic, offset, t in [("tax", 0, 5.0), ("tax", 1, 9.0), ("reg", 0, 7.0)]:
...     aligner.add(Record(topic, 0, offset, t, None))
>>> [(r.topic, r.offset) for r in aligner.release(lambda topic, partition, next_offset: True, now=0.0)]
[('tax', 0), ('reg', 0), ('tax', 1)]
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# (topic, partition, next offset to read) → True when nothing more is waiting to be fetched
CaughtUp = Callable[[str, int, int], bool]


@dataclass(frozen=True, slots=True)
class Record:
    """One input record as the aligner sees it; ``item`` is what the caller gets back."""

    topic: str
    partition: int
    offset: int
    event_time: float  # the record's timestamp, seconds
    item: Any
    received: float = 0.0  # when the worker got it (loop time)


@dataclass
class _Group:
    """The buffered heads of one partition number, one queue per topic."""

    queues: dict[str, deque[Record]]
    next_offset: dict[str, int] = field(default_factory=dict)
    waiting_since: float | None = None

    @property
    def held(self) -> int:
        return sum(len(q) for q in self.queues.values())


class EventTimeAligner:
    """Merges records of co-partitioned topics into event-time order, per partition number."""

    def __init__(
        self, topics: Sequence[str], max_idle: float = 10.0, max_held: int = 50_000, settle: float = 0.0
    ) -> None:
        self.topics = tuple(topics)
        self.settle = settle
        self.rank = {topic: i for i, topic in enumerate(self.topics)}
        self.max_idle = max_idle
        self.max_held = max_held
        self.groups: dict[int, _Group] = {}
        self.forced = 0  # records released past max_held
        self.idled = 0  # groups released because a partition stayed silent past max_idle

    def _group(self, partition: int) -> _Group:
        group = self.groups.get(partition)
        if group is None:
            group = self.groups[partition] = _Group({topic: deque() for topic in self.topics})
        return group

    def add(self, record: Record) -> None:
        group = self._group(record.partition)
        group.queues[record.topic].append(record)
        group.next_offset[record.topic] = record.offset + 1

    @property
    def held(self) -> int:
        return sum(group.held for group in self.groups.values())

    def extend_waits(self, seconds: float) -> None:
        """Time the worker spent processing is not time a partition kept silent."""
        for group in self.groups.values():
            if group.waiting_since is not None:
                group.waiting_since += seconds

    def forget(self, partitions: set[int]) -> list[Record]:
        """Drop the groups of revoked partitions; their records are re-read by the next owner."""
        dropped: list[Record] = []
        for partition in partitions:
            group = self.groups.pop(partition, None)
            if group is not None:
                for queue in group.queues.values():
                    dropped.extend(queue)
        return dropped

    def release(self, caught_up: CaughtUp, now: float) -> list[Record]:
        """Every record that may go now, in order: per group by (event time, topic rank, offset)."""
        out: list[Record] = []
        for partition in sorted(self.groups):
            out.extend(self._release_group(partition, self.groups[partition], caught_up, now))
        return out

    def _release_group(self, partition: int, group: _Group, caught_up: CaughtUp, now: float) -> list[Record]:
        out: list[Record] = []
        heap = [(q[0].event_time, self.rank[t], q[0].offset, t) for t, q in group.queues.items() if q]
        heapq.heapify(heap)
        blocked = [t for t, q in group.queues.items() if not q and not self._done(group, t, partition, caught_up)]
        held = group.held
        while heap:
            if not blocked and self.settle and len(heap) < len(group.queues):
                # A partition of the group has nothing buffered and looked caught up at its last
                # fetch: give that fetch ``settle`` seconds to catch up with the head's time.
                head = group.queues[heap[0][3]][0]
                if now - head.received < self.settle:
                    break
            if blocked and held <= self.max_held:
                if group.waiting_since is None:
                    group.waiting_since = now
                if now - group.waiting_since < self.max_idle:
                    break
                self.idled += 1
                blocked = []  # waited long enough: release what is buffered
            elif blocked:
                self.forced += 1
            _, _, _, topic = heapq.heappop(heap)
            queue = group.queues[topic]
            out.append(queue.popleft())
            held -= 1
            if queue:
                head = queue[0]
                heapq.heappush(heap, (head.event_time, self.rank[topic], head.offset, topic))
            elif not self._done(group, topic, partition, caught_up):
                blocked = [topic]
        if not blocked:
            group.waiting_since = None
        return out

    @staticmethod
    def _done(group: _Group, topic: str, partition: int, caught_up: CaughtUp) -> bool:
        return caught_up(topic, partition, group.next_offset.get(topic, -1))
