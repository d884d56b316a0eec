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

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol


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


class _Sendable(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> bytes: ...
    @property
    def value(self) -> bytes: ...
    @property
    def business_time(self) -> datetime: ...


def stamped(messages: Iterable[_Sendable]) -> Iterator[tuple[str, bytes, bytes, int]]:
    """``(kind, key, value, timestamp_ms)`` for :func:`streams.produce.produce_all`, one clock for all."""
    clock = SendClock()
    return ((m.kind, m.key, m.value, clock.stamp(m.business_time)) for m in messages)
