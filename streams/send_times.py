"""Record timestamps for the input topics: the business time a producer sends each event at.

The worker aligns the co-partitioned inputs by their records' Kafka timestamps
(:mod:`streams.alignment`). entbrain's own producers (``simulate``, ``ingest``) stamp each
record with its business send time — the event's ``occurred_at``, or the simulator's send
time for a re-sent duplicate — made strictly increasing in production order, so the merge
of the partitions reproduces the production order exactly, whether the records are read
live or as a backlog. (Input topics keep their records forever: ``retention.ms=-1``, so
old business timestamps are never taken for expired data.)
"""

from __future__ import annotations

from datetime import datetime


class SendClock:
    """Strictly increasing millisecond timestamps that follow the given business times.

    >>> from datetime import UTC, datetime
    >>> clock = SendClock()
    >>> [clock.stamp(datetime(2026, 1, 1, tzinfo=UTC)) for _ in range(2)]
    [1767225600000, 1767225600001]
    >>> clock.stamp(datetime(2025, 1, 1, tzinfo=UTC))  # an older business time (a re-send) keeps its place
    1767225600002
    """

    def __init__(self) -> None:
        self.last = 0

    def stamp(self, business_time: datetime) -> int:
        millis = int(business_time.timestamp() * 1000)
        self.last = max(millis, self.last + 1)
        return self.last
