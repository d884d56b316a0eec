"""Keeping every input record that faust's consumer fetched on its way to the worker's merge.

Three places in faust-streaming (0.15) let an input record go after the Kafka client's
position has moved past it; with no later record of the partition to reveal the jump, the
partition then looks caught up to the client and silent to the worker (the "restart stall"):

1. **Queues cleared on resume.** A rebalance's recovery resumes fetching while it reads the
   changelogs, seeks the input partitions to their committed offsets, and only then resumes
   the flow control — which *clears* every stream queue. Records fetched after the seek and
   already queued are thrown away. For a partition without a committed offset the seek does
   not even happen, so what was cleared is never fetched again.
2. **The read-offset filter.** The consumer drops any record below the last offset it handed
   on for that partition. After a seek back, records of a fetch still being handed on move
   that mark up again and the records read again are dropped.
3. **No committed offset.** The worker's offset-continuity check cannot see a jump at the
   first record of a partition unless it knows where the partition starts.

The worker's own :class:`streams.continuity.OffsetContinuity` drops duplicates and reads a
gap again, so here the input queues are kept out of the clearing, the filter is off for the
input topics, records of partitions the worker does not own are dropped by the caller, and
the continuity check is given each partition's start: its committed offset, or the log's
beginning when the group never committed one. The identity resolver's queues and topics get
the same treatment: it has no continuity check, but what it does with a record twice (learn
an identity, forward or park an event keyed by its event id) is idempotent, while a record
it never sees is an event lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.structs import TopicPartition


class InputReadOffsets(defaultdict[Any, Any]):
    """faust's read offsets per partition, reporting none for the input topics (no filter there).

    >>> offsets = InputReadOffsets(("tax",), {})
    >>> offsets[("tax", 0)] = 9
    >>> offsets[("scores", 0)] = 4
    >>> offsets[("tax", 0)], offsets[("scores", 0)], offsets.get(("tax", 0))
    (None, 4, 9)
    """

    def __init__(self, inputs: Iterable[str], existing: Mapping[Any, Any]) -> None:
        super().__init__(lambda: None, existing)
        self.inputs = frozenset(inputs)

    def __getitem__(self, tp: Any) -> Any:
        if tp[0] in self.inputs:
            return None
        return super().__getitem__(tp)


def spare_from_clearing(flow_control: Any, queues: Iterable[Any]) -> int:
    """Take ``queues`` out of those ``flow_control`` clears when it resumes; how many were there."""
    managed = flow_control._queues
    spared = [queue for queue in queues if queue in managed]
    for queue in spared:
        managed.discard(queue)
    return len(spared)


def agent_queues(agent: Any) -> list[Any]:
    """The queues that carry records to the streams of a faust agent (its channel's and outbox)."""
    queues: list[Any] = []
    for actor in getattr(agent, "_actors", ()):
        stream = getattr(actor, "stream", None)
        if stream is None:
            continue
        queues.append(stream.outbox)
        channel_queue = getattr(stream.channel, "_queue", None)
        if channel_queue is not None:
            queues.append(channel_queue)
    return queues


async def partition_starts(consumer: Any, tps: Iterable[Any]) -> dict[tuple[str, int], int]:
    """Where each partition starts for the group: its committed offset, else the log's beginning."""
    thread = consumer._thread
    client = thread._ensure_consumer()
    parts = [TopicPartition(tp.topic, tp.partition) for tp in tps]
    if not parts:
        return {}

    async def _starts() -> dict[tuple[str, int], int]:
        starts: dict[tuple[str, int], int] = {}
        missing = []
        for part in parts:
            committed = await client.committed(part)
            if committed is None or committed < 0:
                missing.append(part)
            else:
                starts[(part.topic, part.partition)] = int(committed)
        if missing:
            beginnings = await client.beginning_offsets(missing)
            starts.update({(part.topic, part.partition): int(offset) for part, offset in beginnings.items()})
        return starts

    result: dict[tuple[str, int], int] = await thread.call_thread(_starts)
    return result
