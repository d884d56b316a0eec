"""Event-time alignment of the co-partitioned input topics.

The three input topics are consumed independently: during a backlog (a year of files
ingested at once, a rebuild, a worker catching up after a crash) one topic runs far ahead
of another, so state that combines sources would see months that do not belong together.
Like Kafka Streams (``max.task.idle.ms``), the worker merges its input partitions: it
releases the record with the earliest timestamp among the heads of all the partitions it
owns, and holds them while one of them has records still to fetch and none buffered — for
at most ``max_idle`` seconds. The merge spans every partition number, not only the
co-partitioned three of one enterprise: the online models and the detectors' budgets learn
across enterprises, so they must see one history whatever the partition a record came from.
Live, a partition that looks caught up may only look so (its high watermark is as old as its
last fetch): a record goes while another partition is empty only once it has waited
``settle`` seconds in which the worker could have taken an earlier record (not the seconds
it spent processing a batch, when it takes none). A record that still arrives after a later
one went is counted (``out_of_order``): the live order then differs from the backlog's.

The time is the record's Kafka timestamp: entbrain's producers stamp each record with its
business send time, strictly increasing in production order (:mod:`streams.send_times`),
so with every partition buffered or caught up the merge reproduces the production order —
the same whether the records arrived live or as a backlog. Each partition stays in offset
order. Held records are not acknowledged, so their offsets are not committed and a crash
re-reads them.

Memory is bounded: past ``max_held`` records held the earliest head is released without
waiting (counted as ``forced``).

Several workers of one group: each merges only its own partitions, but the online models
learn across all of them (:mod:`streams.model_feed`). :meth:`EventTimeAligner.frontier` says
how far this worker's merge has gone (every record of its partitions before that key has
been released), the workers publish it, and :meth:`EventTimeAligner.release` takes the
group's ``limit``: a record goes while its time is below it — or, with a ``period``
function (the scorer's close periods, :func:`detectors.scoring.peers.close_period`), while
its period is not after the limit's: every other worker has then passed the start of the
record's period, so every peer value the record's score reads (the last close) is known
here, and within a period the workers run freely. ``lead`` records more may go past that
until the limit moves (0 by default: the scores then do not depend on the number of
workers). A record past it waits for the group for at most ``max_idle`` seconds, then
``lead_after_wait`` records go (counted as ``awaited_group``): a worker that does
not publish its frontier slows the others down, it does not let them run away.

>>> aligner = EventTimeAligner(("reg", "tax"), max_idle=10.0)
>>> for topic, offset, t in [("tax", 0, 5.0), ("tax", 1, 9.0), ("reg", 0, 7.0)]:
...     aligner.add(Record(topic, 0, offset, t, None))
>>> [(r.topic, r.offset) for r in aligner.release(lambda topic, partition, next_offset: True, now=0.0)]
[('tax', 0), ('reg', 0), ('tax', 1)]
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# (topic, partition, next offset to read) → True when nothing more is waiting to be fetched
CaughtUp = Callable[[str, int, int], bool]
# Where a record stands in the merge: (event time, topic rank, partition, offset)
Key = tuple[float, int, int, int]
BEFORE_ALL: Key = (float("-inf"), -1, -1, -1)


@dataclass(frozen=True, slots=True)
class Record:
    """One input record as the aligner sees it; ``item`` is what the caller gets back."""

    topic: str
    partition: int
    offset: int
    event_time: float  # the record's timestamp, seconds
    item: Any
    received: float = 0.0  # when the worker got it (loop time)
    busy: float = 0.0  # the merge's :attr:`EventTimeAligner.busy` then


class EventTimeAligner:
    """Merges records of the worker's input partitions into event-time order."""

    def __init__(
        self, topics: Sequence[str], max_idle: float = 10.0, max_held: int = 50_000, settle: float = 0.0,
        period: Callable[[float], int] | None = None,
    ) -> None:
        self.topics = tuple(topics)
        self.period = period
        self.settle = settle
        self.rank = {topic: i for i, topic in enumerate(self.topics)}
        self.max_idle = max_idle
        self.max_held = max_held
        self.queues: dict[tuple[str, int], deque[Record]] = {}
        self.next_offset: dict[tuple[str, int], int] = {}
        self.waiting_since: float | None = None
        self.forced = 0  # records released past max_held
        self.idled = 0  # releases made because a partition stayed silent past max_idle
        self.silent: list[tuple[str, int]] = []  # the partitions those releases did not wait for
        self.last_released: dict[tuple[str, int], Key] = {}
        self.awaited_group = 0  # releases made past the group's limit after waiting max_idle
        self.group_waiting_since: float | None = None
        self.group_limit: float | None = None
        self.past_limit = 0  # records released past group_limit
        # Seconds the event loop could not take records (a batch being processed): a head's
        # ``settle`` counts only time in which an earlier record could have come in.
        self.busy = 0.0
        self.latest_released = -math.inf  # the latest event time released
        self.out_of_order = 0  # records that arrived after a later one had been released
        # With ``confirm_within`` set, a head passes a partition with nothing buffered that
        # looked caught up only once the broker, asked at least ``settle`` seconds after the
        # head arrived, said the worker had taken all of it (:meth:`confirm`): the consumer
        # fetches a partition again only when its earlier records were taken, so its own
        # view can be a second old. Past ``confirm_within`` seconds more, the head goes
        # unconfirmed (a broker that does not answer must not stop the worker).
        self.confirm_within: float | None = None
        self.confirmed: dict[tuple[str, int], float] = {}  # when the broker was last asked (loop time)
        self.unconfirmed: list[tuple[str, int]] = []  # the partitions the last release waited on

    def assign(self, partitions: set[int]) -> None:
        """Partition numbers this worker now owns: each topic's partition of them is merged in."""
        for partition in partitions:
            for topic in self.topics:
                self.queues.setdefault((topic, partition), deque())

    def add(self, record: Record) -> None:
        tp = (record.topic, record.partition)
        if tp not in self.queues:
            self.assign({record.partition})
        self.queues[tp].append(record)
        self.next_offset[tp] = record.offset + 1
        if record.event_time < self.latest_released:
            self.out_of_order += 1  # live, it came more than ``settle`` after a later record

    @property
    def held(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def empty(self) -> list[tuple[str, int]]:
        """The (topic, partition) pairs with nothing buffered."""
        return [tp for tp, q in self.queues.items() if not q]

    def blocked_for(self, seconds: float) -> None:
        """The event loop could take no record for ``seconds`` (it processed a batch)."""
        self.busy += seconds

    def confirm(self, partitions: Sequence[tuple[str, int]], asked_at: float) -> None:
        """The broker, asked at ``asked_at``, gave the end of ``partitions`` (the caller's
        ``caught_up`` then compares it with what was taken)."""
        for tp in partitions:
            self.confirmed[tp] = asked_at

    def _unconfirmed(self, head: Record, dry: list[tuple[str, int]], now: float) -> list[tuple[str, int]] | None:
        """``None`` when ``head`` may go past the partitions that have nothing buffered and
        looked caught up (``dry``): after ``settle`` seconds and, when confirming, once the
        broker confirmed them since (or ``confirm_within`` seconds later). Else the
        partitions the broker is still to confirm (none while the head settles)."""
        age = self.age(head, now)
        if age < self.settle:
            return []
        if self.confirm_within is None or age >= self.settle + self.confirm_within:
            return None
        since = head.received + self.settle
        missing = [tp for tp in dry if self.confirmed.get(tp, -math.inf) < since]
        return missing or None

    def age(self, record: Record, now: float) -> float:
        """Seconds since ``record`` arrived in which other records could have arrived too."""
        return now - record.received - (self.busy - record.busy)

    def extend_waits(self, seconds: float) -> None:
        """Time the worker spent processing is not time a partition kept silent."""
        if self.waiting_since is not None:
            self.waiting_since += seconds
        if self.group_waiting_since is not None:
            self.group_waiting_since += seconds

    def queue_limit(self, configured: int) -> int:
        """Records one partition's queue may hold before its fetching pauses: ``configured``,
        lowered so that every owned queue full stays within ``max_held`` (past it the merge
        would release out of order). Never below 2: a queue must hold a record to merge it.

        >>> aligner = EventTimeAligner(("reg", "tax", "invoice"), max_held=50_000)
        >>> aligner.assign({0, 1, 2, 3})
        >>> aligner.queue_limit(4_000), aligner.queue_limit(8_000)
        (4000, 4166)
        """
        return max(2, min(configured, self.max_held // max(1, len(self.queues))))

    def forget(self, partitions: set[int]) -> list[Record]:
        """Drop the queues of revoked partitions; their records are re-read by the next owner."""
        dropped: list[Record] = []
        for tp in [tp for tp in self.queues if tp[1] in partitions]:
            dropped.extend(self.queues.pop(tp))
            self.next_offset.pop(tp, None)
            self.last_released.pop(tp, None)
        return dropped

    def key(self, topic: str, partition: int, offset: int, event_time: float) -> Key:
        """The record's place in the merge (a topic outside the inputs ranks after them)."""
        return (event_time, self.rank.get(topic, len(self.topics)), partition, offset)

    def frontier(self, caught_up: CaughtUp, now: float = math.inf) -> Key | None:
        """Every record of the owned partitions before this key has been released, and none
        is still to come from the broker; ``None`` when nothing bounds it (nothing was ever
        released here and nothing is held or left to fetch).

        A partition with nothing buffered that looked caught up at its last fetch may only
        look so: live, it may yet receive a record produced before the others' heads (or,
        every partition caught up, right after the last record released). So with such a
        partition the frontier is the last record released, and a head once :meth:`release`
        would let it pass that partition (settled, and confirmed when confirming). Live, a worker that has read
        everything so far thus still holds the group at a close until it has seen the close
        itself: "nothing left to fetch" is not "nothing more before the close".

        >>> aligner = EventTimeAligner(("reg", "tax"), settle=0.2)
        >>> aligner.add(Record("tax", 0, 7, 5.0, None, received=100.0))
        >>> aligner.frontier(lambda topic, partition, next_offset: True, now=100.1)  # reg may yet bring earlier
        (-inf, -1, -1, -1)
        >>> aligner.frontier(lambda topic, partition, next_offset: True, now=100.2)  # the head has settled
        (5.0, 1, 0, 7)
        >>> _ = aligner.release(lambda *_: True, now=100.2)
        >>> aligner.frontier(lambda topic, partition, next_offset: True, now=100.3)  # caught up: the last released
        (5.0, 1, 0, 7)
        >>> aligner.add(Record("tax", 0, 8, 6.0, None, received=100.3))
        >>> aligner.frontier(lambda topic, partition, next_offset: True, now=100.5)  # the new head has settled
        (6.0, 1, 0, 8)
        """
        bound: Key | None = None
        first: Record | None = None  # the head that is the bound, if one is
        dry: list[tuple[str, int]] = []  # partitions with nothing buffered and nothing left to fetch, as last seen
        for tp, queue in self.queues.items():
            if queue:
                head = queue[0]
                here = self.key(head.topic, head.partition, head.offset, head.event_time)
                if bound is None or here < bound:
                    bound, first = here, head
            elif not self._done(tp, caught_up):
                here = self.last_released.get(tp, BEFORE_ALL)
                if bound is None or here < bound:
                    bound, first = here, None
            else:
                dry.append(tp)
        settled = first is None or self._unconfirmed(first, dry, now) is None
        if dry and (bound is None or not settled):
            last = max(self.last_released.values(), default=None)
            if bound is None:
                return last
            return BEFORE_ALL if last is None else min(last, bound)
        return bound

    def release(
        self, caught_up: CaughtUp, now: float, limit: float | None = None, lead: int = 0, lead_after_wait: int = 2_000,
        most: int | None = None,
    ) -> list[Record]:  # fmt: skip
        """Every record that may go now, in order of (event time, topic rank, partition, offset);
        with a ``limit``, only those with an earlier event time and ``lead`` more (see the module).
        With ``most``, no more than that: the rest stays held, in the same order, for the next
        call (one batch at a time, so a rebalance or a stop waits for one batch, not a backlog)."""
        out: list[Record] = []
        if limit != self.group_limit:  # the group moved on: a fresh lead past its new frontier
            self.group_limit, self.past_limit = limit, 0
        queues = self.queues
        heap = [self._key(q[0]) for q in queues.values() if q]
        heapq.heapify(heap)
        blocked = [tp for tp, q in queues.items() if not q and not self._done(tp, caught_up)]
        dry = [tp for tp, q in queues.items() if not q and tp not in blocked]
        self.unconfirmed = []
        held = self.held
        while heap and (most is None or len(out) < most):
            if not self._within(heap[0][0], limit):
                if self.past_limit < lead:
                    self.past_limit += 1  # within the lead the group allows past its frontier
                else:
                    if self.group_waiting_since is None:
                        self.group_waiting_since = now
                    if now - self.group_waiting_since < self.max_idle:
                        break
                    self.awaited_group += 1  # waited long enough for the group: another lead
                    self.past_limit = 1 - max(1, lead, lead_after_wait)
            self.group_waiting_since = None  # the group let this one go: a later wait starts afresh
            if not blocked and dry and self.settle:
                # A partition has nothing buffered and looked caught up at its last fetch:
                # give that fetch ``settle`` seconds to catch up with the head's time.
                waits_for = self._unconfirmed(queues[heap[0][-1]][0], dry, now)
                if waits_for is not None:
                    self.unconfirmed = waits_for
                    break
            if blocked and held <= self.max_held:
                if self.waiting_since is None:
                    self.waiting_since = now
                if now - self.waiting_since < self.max_idle:
                    break
                self.idled += 1
                self.silent.extend(blocked)
                blocked = []  # waited long enough: release what is buffered
                self.waiting_since = None  # another partition running dry waits afresh
            elif blocked:
                self.forced += 1
            tp = heapq.heappop(heap)[-1]
            queue = queues[tp]
            record = queue.popleft()
            out.append(record)
            if record.event_time > self.latest_released:
                self.latest_released = record.event_time
            self.last_released[tp] = self.key(record.topic, record.partition, record.offset, record.event_time)
            held -= 1
            if queue:
                heapq.heappush(heap, self._key(queue[0]))
            elif not self._done(tp, caught_up):
                blocked = [tp]
            else:
                dry.append(tp)
        if not blocked:
            self.waiting_since = None
        return out

    def _within(self, event_time: float, limit: float | None) -> bool:
        """Whether a record at ``event_time`` may go without waiting for the group."""
        if limit is None or event_time < limit:
            return True
        if self.period is None or not math.isfinite(limit):  # -inf: a partition nobody claimed yet
            return False
        return self.period(event_time) <= self.period(limit)

    def _key(self, record: Record) -> tuple[float, int, int, int, tuple[str, int]]:
        """The record's :meth:`key` and its partition (the heap's entries)."""
        return (*self.key(record.topic, record.partition, record.offset, record.event_time),
                (record.topic, record.partition))  # fmt: skip

    def _done(self, tp: tuple[str, int], caught_up: CaughtUp) -> bool:
        return caught_up(tp[0], tp[1], self.next_offset.get(tp, -1))
