"""Step 4 of the commit protocol: the input offsets, committed explicitly, one commit at a time.

faust's acknowledgements are off for the inputs. faust derives the offset to commit from the
acknowledged offsets, and a rebalance can discard the acknowledgements of a batch it
interrupts: faust then commits nothing past that gap, or — for a gap of one record — commits
past a record never processed. Records of one input partition are processed in offset order
(the continuity check and the merge keep it), so a batch's last offset + 1 is exact.

A commit is started by :meth:`OffsetCommits.commit` and completes while the next batches are
computed (a round trip through the client's thread takes tens of milliseconds): one at a
time, in order. While one is in flight, the offsets of the batches made durable meanwhile
wait for the next batch's step 4 (or the worker's background loop, when idle). A rebalance,
a stop and a replay first commit everything (:meth:`OffsetCommits.settle`). A worker killed
before its offsets are committed reads those batches again, as redeliveries. A commit that
fails is tried again the same way; a partition revoked meanwhile is read again by its new
owner, whose states make it a redelivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Committer = Callable[[dict[Any, int]], Awaitable[object]]


class OffsetCommits:
    """The next offset of each input partition whose batches are durable, and the commit in flight.

    ``commit_positions`` commits a mapping of partition → next offset (the consumer's, on
    the Kafka client's thread: :func:`streams.fetch_control.commit_positions`).
    """

    def __init__(self, commit_positions: Committer) -> None:
        self._commit_positions = commit_positions
        self.pending: dict[Any, int] = {}  # next offset per input partition, once its batch is durable
        self._in_flight: list[asyncio.Future[None]] = []

    async def ack(self, message: Any) -> None:
        """``message`` is durable: its partition's next offset is past it."""
        self.pending[message.tp] = max(self.pending.get(message.tp, 0), message.offset + 1)

    async def commit(self) -> None:
        """Start committing what is pending, unless a commit is in flight (then it waits for the next call)."""
        if self._in_flight and not self._in_flight[-1].done():
            return
        self._in_flight.clear()
        offsets = self._take()
        if offsets:
            self._in_flight.append(asyncio.ensure_future(self._commit(offsets)))

    async def settle(self) -> None:
        """Wait for the commit in flight, then commit what is still pending."""
        while self._in_flight:
            await self._in_flight.pop(0)
        offsets = self._take()
        if offsets:
            await self._commit(offsets)

    def forget(self, partitions: set[int]) -> None:
        """Drop the pending offsets of revoked ``partitions`` (their new owner reads on from the last commit)."""
        for tp in [tp for tp in self.pending if tp.partition in partitions]:
            del self.pending[tp]

    def _take(self) -> dict[Any, int]:
        offsets = dict(self.pending)
        self.pending.clear()
        return offsets

    async def _commit(self, offsets: dict[Any, int]) -> None:
        try:
            await self._commit_positions(offsets)
        except Exception as exc:  # noqa: BLE001 - any client error: keep the offsets for the next try
            log.warning("committing input offsets failed (%s); trying again later", exc)
            for tp, offset in offsets.items():
                self.pending[tp] = max(self.pending.get(tp, 0), offset)
