"""Offset continuity of the input partitions: a record skipped by the consumer is read again.

The input topics are plain logs (no compaction; producers idempotent, not transactional),
so the records of one partition arrive at offsets ``n, n+1, n+2, …``. faust-streaming can skip records after a
restart or a rebalance: recovery resumes the input partitions, then seeks them to the
committed offsets while the fetcher is already running, then resumes its flow control,
which *clears* the stream queues. Records fetched during the seek are dropped, the
consumer's read position has already moved past them, the jump is recorded as an offset
"gap" (meant for compaction and transaction markers) — and a gap counts as acknowledged,
so the committed offset moves over records that were never processed.

:class:`OffsetContinuity` notices the jump at the first record after it and asks the
caller to seek the partition back to the first missing offset; records beyond it are
dropped unacknowledged until the missing one arrives, and the re-read is asked for again
while they keep coming.

>>> guard = OffsetContinuity()
>>> [guard.check("tax", 0, o, now=0.1 * o).name for o in (5, 6, 9, 10, 60, 7)]
['ACCEPT', 'ACCEPT', 'SEEK', 'DROP', 'SEEK', 'ACCEPT']
>>> guard.expected[("tax", 0)]
8
>>> guard.check("tax", 1, 12, committed=10), guard.expected[("tax", 1)]
(<Verdict.SEEK: 3>, 10)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    ACCEPT = 1  # process it
    DROP = 2  # already taken, or beyond a gap being re-read: ignore, do not acknowledge
    SEEK = 3  # a gap: seek the partition back to ``expected`` and ignore this record


@dataclass
class _Seek:
    at: float
    attempts: int = 1


@dataclass
class OffsetContinuity:
    """Expected next offset per input partition, and the seeks under way to re-read a gap.

    ``retry_seconds``: how long records past a gap may keep arriving before the re-read is
    asked for again. A jump is never accepted: the input topics are plain logs (a producer
    writing them transactionally would leave markers, and the partition would stop here,
    visibly, rather than lose records).
    """

    retry_seconds: float = 5.0
    expected: dict[tuple[str, int], int] = field(default_factory=dict)
    seeking: dict[tuple[str, int], _Seek] = field(default_factory=dict)
    gaps: int = 0

    def check(
        self, topic: str, partition: int, offset: int, committed: int | None = None, now: float = 0.0
    ) -> Verdict:
        """What to do with the record at ``offset`` (``committed``: the group's offset, if known)."""
        key = (topic, partition)
        expected = self.expected.get(key, committed)
        if expected is None or offset == expected:
            self.expected[key] = offset + 1
            self.seeking.pop(key, None)
            return Verdict.ACCEPT
        if offset < expected:
            return Verdict.DROP
        self.expected[key] = expected
        seek = self.seeking.get(key)
        if seek is None:
            self.seeking[key] = _Seek(now)
            self.gaps += 1
            return Verdict.SEEK
        if now - seek.at < self.retry_seconds:
            return Verdict.DROP
        seek.at = now
        seek.attempts += 1
        return Verdict.SEEK

    def forget(self, partitions: set[int], topics: tuple[str, ...]) -> None:
        """Revoked partitions start afresh at their next assignment."""
        for topic in topics:
            for partition in partitions:
                self.expected.pop((topic, partition), None)
                self.seeking.pop((topic, partition), None)
