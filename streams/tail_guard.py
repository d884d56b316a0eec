"""Records left behind at the end of a partition after a rebalance: noticed and read again.

Around a rebalance faust can drop records it had fetched (see :mod:`streams.continuity`):
the Kafka client's position has then moved past records the worker never took. The
continuity check notices the jump at the next record of the partition — but when those were
the last records written (the stream paused or ended), no next record comes, and the
partition's committed offset stays below its end for good.

:class:`DroppedTail` watches, for each input partition, the next offset the worker expects
and the client's fetch position. A position ahead of the expected offset is normal while
records travel from the client to the agent; if it stays ahead, unchanged, for
``settle_seconds`` while no batch is running, the records in between were dropped, and the
caller seeks the partition back to the expected offset. A false alarm only reads records
again, which the continuity check drops as already taken.

>>> guard = DroppedTail(settle_seconds=5.0)
>>> guard.observe({("tax", 0): (10, 15)}, now=0.0), guard.observe({("tax", 0): (10, 15)}, now=6.0)
([], [('tax', 0, 10)])
>>> guard.observe({("tax", 0): (15, 15)}, now=7.0)
[]
"""

from __future__ import annotations

from dataclasses import dataclass, field

Partition = tuple[str, int]


@dataclass
class DroppedTail:
    settle_seconds: float = 5.0
    _since: dict[Partition, tuple[int, int, float]] = field(default_factory=dict)

    def observe(self, positions: dict[Partition, tuple[int, int]], now: float) -> list[tuple[str, int, int]]:
        """``positions``: (expected next offset, client's fetch position) per partition.
        Returns ``(topic, partition, offset)`` for each partition to seek back."""
        seeks = []
        for tp, (expected, position) in positions.items():
            if position <= expected:
                self._since.pop(tp, None)
                continue
            first = self._since.get(tp)
            if first is None or first[:2] != (expected, position):
                self._since[tp] = (expected, position, now)
            elif now - first[2] >= self.settle_seconds:
                seeks.append((tp[0], tp[1], expected))
                self._since.pop(tp)
        for tp in set(self._since) - set(positions):
            del self._since[tp]
        return seeks
