"""Which input partitions the worker has stopped fetching, and why: back-pressure from the
event-time merge, or a skipped range being read again.

The pauses and seeks are the Kafka client's own (:mod:`streams.fetch_control`), so none
loses a record. :class:`FetchFlow` keeps what is paused and what is being read again, and
the calls under way (so they are not collected before they finish).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.errors import IllegalStateError
from faust.types import TP

from streams.fetch_control import pause_fetching, resume_fetching, seek_fetching
from streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)


class FetchFlow:
    """Back-pressure per input partition, and skipped ranges read again.

    ``app`` is the worker's faust app (its consumer is read at each call: faust makes it
    lazily); ``inputs`` are the input topics.
    """

    def __init__(self, app: Any, inputs: Sequence[str], metrics: WorkerMetrics) -> None:
        self.app = app
        self.inputs = tuple(inputs)
        self.metrics = metrics
        self.paused: set[TP] = set()  # partitions whose queue in the merge is full (paused in the client)
        self.seeking: set[TP] = set()  # partitions paused (in faust) until a skipped range is read again
        self._under_way: list[asyncio.Future[None]] = []  # pauses and seeks (kept so they are not collected)

    def _start(self, call: Any) -> None:
        self._under_way[:] = [f for f in self._under_way if not f.done()]
        self._under_way.append(asyncio.ensure_future(call))

    def pause_now(self, tp: TP) -> None:
        """Stop fetching a partition whose queue in the merge is full (resumed by :meth:`regulate`)."""
        self.paused.add(tp)
        self._start(self._pause(tp))

    async def _pause(self, tp: TP) -> None:
        try:
            await pause_fetching(self.app.consumer, [tp])
        except Exception as exc:  # noqa: BLE001 - the merge's held limit still bounds memory
            self.paused.discard(tp)
            log.warning("could not pause fetching of %s: %s", tp, exc)

    async def regulate(self, queues: Iterable[tuple[tuple[str, int], Sequence[object]]], limit: int) -> None:
        """Pause fetching a partition whose queue in the merge holds ``limit`` records; resume it at half.

        A backlog is fetched far faster than it is processed. Without this, the queues would
        grow to the held limit, and the merge would then release records without waiting for
        the partition that lags — out of event-time order.
        """
        pause, resume = [], []
        for (topic, partition), queue in queues:
            tp = TP(topic, partition)
            if len(queue) >= limit and tp not in self.paused:
                pause.append(tp)
            elif len(queue) <= limit // 2 and tp in self.paused:
                resume.append(tp)
        try:
            await pause_fetching(self.app.consumer, pause)
            await resume_fetching(self.app.consumer, resume)
        except Exception as exc:  # noqa: BLE001 - the merge's held limit still bounds memory
            log.warning("could not pause/resume fetching of %s: %s", pause + resume, exc)
            return
        self.paused.update(pause)
        self.paused.difference_update(resume)
        self.metrics.flow_paused.set(len(self.paused))

    def resume_orphans(self) -> None:
        """Input partitions faust left paused once no rebalance or recovery is under way.

        faust pauses the input partitions while a rebalance recovers the tables, and its
        recovery resumes them only if no newer rebalance began meanwhile ("Recovery
        rebalancing again"); when that newer one ends without a recovery of its own, the
        partitions stay paused for good and nothing of them is processed again.
        """
        app = self.app
        consumer = app.consumer
        if app.rebalancing or getattr(app, "in_recovery", False) or not consumer.flow_active:
            return
        paused: set[TP] = getattr(consumer, "_paused_partitions", set())
        orphans = {tp for tp in paused if tp.topic in self.inputs and tp not in self.seeking}
        if orphans:
            log.warning("input partitions left paused by faust after a rebalance: %s; resuming them",
                        ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in orphans)))  # fmt: skip
            self.metrics.orphaned_pauses.inc(len(orphans))
            consumer.resume_partitions(orphans)

    def reread_gap(self, message: Any, expected: int) -> None:
        """The consumer skipped ``expected`` … ``message.offset - 1``: read them again."""
        log.warning("records %s[%d] %d..%d were skipped by the consumer; reading them again",
                    message.topic, message.partition, expected, message.offset - 1)  # fmt: skip
        self.metrics.offset_gaps.inc()
        # Pause first: records already fetched past the gap must pass the consumer (which drops
        # a record below its read position) before the seek moves that position back.
        tp = TP(message.topic, message.partition)  # faust's TP: its consumer keeps no other kind
        self.app.consumer.pause_partitions([tp])
        self.seeking.add(tp)
        self._start(self._seek_back(tp, expected))

    async def _seek_back(self, tp: TP, offset: int) -> None:
        await asyncio.sleep(1.0)
        try:
            await seek_fetching(self.app.consumer, tp, offset)
        except IllegalStateError:  # revoked meanwhile (another worker joined or left): its owner reads it
            log.info("%s[%d] was revoked before it could be read again", tp.topic, tp.partition)
        else:
            self.app.consumer.resume_partitions([tp])
        finally:
            self.seeking.discard(tp)

    def reseek(self, tp: TP, offset: int) -> None:
        """Seek a silent partition to ``offset`` (unless a re-read of it is under way)."""
        if tp in self.seeking:
            return
        self.metrics.silent_seeks.inc()
        self._start(seek_fetching(self.app.consumer, tp, offset))

    def forget(self, partitions: set[int]) -> None:
        """Revoked ``partitions``: nothing of them is paused or read again here any more."""
        self.seeking.difference_update({tp for tp in self.seeking if tp.partition in partitions})
        self.paused.difference_update({tp for tp in self.paused if tp.partition in partitions})
