"""Every worker learns from every enterprise: the scorer's learning shared through a topic.

With several workers in a group, each scores the enterprises of its own partitions. Left
alone, each worker's peer index (behind every percentile) and exit-risk model would learn
from those enterprises only, so scores, tiers and lists would depend on how the partitions
are spread. Instead each worker publishes what its scorer learned from every scored
enterprise (:class:`detectors.scoring.scorer.Learning`: peer keys, peer features, the
exit-risk snapshot, the business month), with the record's place in the event-time merge,
to the group's feed topic ``<app id>-model-feed`` (one partition, compacted by key), as an
output of the commit protocol's step 2. Every worker follows the topic and learns the
entries the other workers wrote at their place in the merge: before each of its own records,
every entry of an earlier record (:meth:`ModelFeed.learn_before`). Learning them in that
order is learning what one worker would have learned (``tests/detectors/test_scoring.py``).

Percentiles read the peers as they stood at the last weekly close of the peer index
(:mod:`detectors.scoring.peers`), so a worker needs every entry of the weeks before the
record it scores, and none of the record's own week. During a backlog (a rebuild, a replay,
a worker catching up) each worker publishes its merge's *frontier*
(:meth:`streams.alignment.EventTimeAligner.frontier`: every record of its partitions before
it has been processed and its entries are on the feed) with the partitions it holds, after
each batch; a worker releases a record once the earliest frontier of the partitions it does
not hold (:meth:`ModelFeed.limit`) has reached the record's week — within a week the workers
run freely, at a close they wait for each other — waiting at most
``ENTBRAIN_WORKER__ALIGN_MAX_IDLE_SECONDS`` for a silent worker. One worker and two then
give the same scores (``tests/integration/test_scale_out.py``, ``python -m bench.scaleout``);
``ENTBRAIN_WORKER__GROUP_LEAD_RECORDS`` lets a worker run that many records past a close the
others have not reached, for speed at the cost of that equality. Live, a worker that has
read everything so far still publishes a bounded frontier (its last record released): one
of its partitions may yet bring a record of the week the others are closing. Entries that
arrive after this worker crossed their close are counted (:attr:`ModelFeed.late`).

The position reached on the feed is part of the models (``OnlineModels.feed_offset``) and
checkpointed with them, so a restarted worker reads on from where its checkpoint left off;
a worker without a checkpoint reads the feed from the beginning (compaction keeps the
latest entry of every enterprise). No batch runs before the feed has been read to the end
it had when the worker started. Learning an entry again changes nothing (the peer index
keeps one current value per enterprise, the exit-risk model one snapshot per month). The
series detectors, the peer divergence detector and the industries' levels stay per worker.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import NewTopic

from config import KafkaSettings, Settings
from detectors.models import OnlineModels
from detectors.scoring.scorer import Learning
from streams.alignment import BEFORE_ALL, Key
from streams.kafka_admin import create_missing
from streams.kafka_security import confluent_config

log = logging.getLogger(__name__)
REPUBLISH_SECONDS = 5.0


def feed_topic(settings: Settings) -> str:
    """The group's feed (derived state like the table's changelog: ``rebuild`` deletes it)."""
    return f"{settings.worker.app_id}-model-feed"


def worker_identity(settings: Settings) -> str:
    """This worker's name on the feed, kept in its data directory so a restart keeps it."""
    path = Path(settings.worker.data_dir) / settings.worker.app_id / "worker-id"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    path.write_text(name)
    return name


@dataclass(frozen=True, slots=True)
class Entry:
    """What one worker learned from one record, and where the record stands in the merge."""

    worker: str
    at: Key
    learning: Learning


@dataclass(frozen=True, slots=True)
class Frontier:
    """How far one worker's merge has gone (``None``: unbounded) over the partitions it holds."""

    worker: str
    frontier: Key | None
    partitions: tuple[int, ...]


def encode(learning: Learning, worker: str, at: Key) -> bytes:
    """One feed entry.

    >>> value = encode(Learning("U1", ("C|small", "*"), {"revenue_annual": 2.0}, None, False, 24312), "w1",
    ...                (5.0, 1, 0, 7))
    >>> decode(value)  # doctest: +NORMALIZE_WHITESPACE
    Entry(worker='w1', at=(5.0, 1, 0, 7), learning=Learning(uscc='U1', keys=('C|small', '*'),
          scored={'revenue_annual': 2.0}, x=None, exited=False, month=24312))
    """
    return orjson.dumps({
        "w": worker, "at": at, "u": learning.uscc, "k": learning.keys, "f": learning.scored, "x": learning.x,
        "e": learning.exited, "m": learning.month,
    })  # fmt: skip


def encode_frontier(frontier: Frontier) -> bytes:
    """
    >>> decode(encode_frontier(Frontier("w1", None, (0, 2))))
    Frontier(worker='w1', frontier=None, partitions=(0, 2))
    """
    return orjson.dumps({"w": frontier.worker, "frontier": frontier.frontier, "p": frontier.partitions})


def _key(value: Any) -> Key:
    t, rank, partition, offset = value
    return (float(t), int(rank), int(partition), int(offset))


def decode(value: bytes | None) -> Entry | Frontier | None:
    """An entry or a frontier, or ``None`` for what is neither.

    >>> decode(b"{}"), decode(b"not json"), decode(None)
    (None, None, None)
    """
    if value is None:
        return None
    try:
        data = orjson.loads(value)
        worker = str(data["w"])
        if "frontier" in data:
            bound = None if data["frontier"] is None else _key(data["frontier"])
            return Frontier(worker, bound, tuple(int(p) for p in data["p"]))
        learning = Learning(
            uscc=str(data["u"]), keys=tuple(str(k) for k in data["k"]),
            scored={str(k): float(v) for k, v in data["f"].items()},
            x=None if data["x"] is None else {str(k): float(v) for k, v in data["x"].items()},
            exited=bool(data["e"]), month=None if data["m"] is None else int(data["m"]),
        )  # fmt: skip
        return Entry(worker, _key(data["at"]), learning)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def ensure_feed_topic(kafka: KafkaSettings, name: str, timeout: float = 30.0) -> None:
    """One partition (one order for every reader), compacted by USCC."""
    topic = NewTopic(name, num_partitions=1, replication_factor=kafka.replication_factor,
                     config={"cleanup.policy": "compact"})  # fmt: skip
    create_missing(kafka, [topic], timeout)


class ModelFeed:
    """Follows the feed in a thread of its own; the event loop learns what it read."""

    def __init__(self, kafka: KafkaSettings, topic: str, worker: str, models: OnlineModels) -> None:
        self.kafka = kafka
        self.topic = topic
        self.worker = worker
        self.models = models
        self.caught_up = asyncio.Event()
        self.news = asyncio.Event()  # set when records arrived: the merge may move on
        self.arrived: deque[tuple[int, bytes | None]] = deque()  # (offset, value), appended by the thread
        self.pending: list[tuple[Key, int, Learning]] = []  # heap of other workers' entries not learned yet
        self.frontiers: dict[int, Key | None] = {}  # partition → the latest frontier published for it
        self.read_to: int | None = None  # the offset after the last record taken from ``arrived``
        self.learned = 0  # other workers' entries learned
        # The close period of the latest own record scored, and the other workers' entries
        # that arrived after it for an earlier period: each is a score that read a close
        # without them (where one worker and two part ways; 0 when the group crossed together).
        self.period: Callable[[float], int] | None = None
        self.crossed: int | None = None
        self.late = 0
        self.skipped = 0  # records that are neither entries nor frontiers
        self.published: Frontier | None = None
        self.published_at = 0.0
        self._end = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-feed")

    def take_arrived(self) -> None:
        """Move what the thread read into the pending entries and the frontiers (event loop)."""
        while self.arrived:
            offset, value = self.arrived.popleft()
            self.read_to = offset + 1
            item = decode(value)
            if isinstance(item, Frontier):
                # Its own too: for a partition it gave up, its last frontier bounds the new
                # owner's until that one publishes its own (the owner starts from there).
                for partition in item.partitions:
                    self.frontiers[partition] = item.frontier
            elif isinstance(item, Entry):
                if item.worker != self.worker:  # its own the scorer learned when it scored
                    heapq.heappush(self.pending, (item.at, offset, item.learning))
                    if self.crossed is not None and self.period is not None and self.period(item.at[0]) < self.crossed:
                        self.late += 1
            elif value is not None:
                self.skipped += 1
        self.mark_position()

    def learn_before(self, at: Key) -> int:
        """Learn the other workers' entries of records before ``at`` in the merge, in its order."""
        learned = 0
        if self.period is not None:
            here = self.period(at[0])
            if self.crossed is None or here > self.crossed:
                self.crossed = here
        scorer = self.models.scorer
        pending = self.pending
        while pending and pending[0][0] < at:
            place, _, learning = heapq.heappop(pending)
            scorer.learn(learning, place[0])
            learned += 1
        self.learned += learned
        return learned

    def mark_position(self) -> None:
        """Set the checkpoint's feed position: before the earliest entry not learned yet
        (before the models are pickled; linear in the entries waiting)."""
        position = min((offset for _, offset, _ in self.pending), default=self.read_to)
        if position is not None:
            self.models.feed_offset = position

    def limit(self, owned: set[int], partitions: int) -> float | None:
        """The latest event time this worker may release now (``None``: no bound)."""
        bound: float | None = None
        for partition in range(partitions):
            if partition in owned:
                continue
            frontier = self.frontiers.get(partition, BEFORE_ALL)
            if frontier is None:
                continue
            here = frontier[0]
            bound = here if bound is None else min(bound, here)
        return bound

    def frontier_to_publish(self, frontier: Key | None, owned: set[int], now: float) -> Frontier | None:
        """This worker's frontier, when it changed since it was last published or every
        ``REPUBLISH_SECONDS`` (a worker that starts reading the feed from a checkpoint learns
        it then, even from a worker whose merge stands still)."""
        mine = Frontier(self.worker, frontier, tuple(sorted(owned)))
        if mine == self.published and now - self.published_at < REPUBLISH_SECONDS:
            return None
        self.published, self.published_at = mine, now
        return mine

    def _open(self, start: int | None) -> Consumer:
        ensure_feed_topic(self.kafka, self.topic)
        consumer = Consumer({
            **confluent_config(self.kafka), "group.id": f"entbrain-feed-{uuid.uuid4().hex}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
        })  # fmt: skip
        tp = TopicPartition(self.topic, 0)
        self._end = consumer.get_watermark_offsets(tp, timeout=10.0)[1]
        consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING if start is None else start)])
        return consumer

    def _poll(self, consumer: Consumer) -> int:
        """Queue what arrived; the offset of the last record read (or -1)."""
        last = -1
        for msg in consumer.consume(1000, 0.02):  # a frontier is news to wait for: a short wait
            if msg.error():
                continue
            last = int(msg.offset() or 0)
            self.arrived.append((last, msg.value()))
        return last

    async def run(self) -> None:
        """Read to the end seen at start (then release the batches), and keep following."""
        loop = asyncio.get_running_loop()
        start = self.models.feed_offset
        try:
            consumer = await loop.run_in_executor(self._thread, self._open, start)
        except Exception as exc:  # noqa: BLE001 - the worker runs on, learning only its own partitions
            log.error("cannot read %s, scores learn from this worker's partitions only: %s", self.topic, exc)
            self.caught_up.set()
            return
        if (start or 0) >= self._end:
            self.caught_up.set()
        try:
            while True:
                last = await loop.run_in_executor(self._thread, self._poll, consumer)
                if last >= 0:
                    self.news.set()
                if not self.caught_up.is_set() and last + 1 >= self._end:
                    log.info("model feed read to offset %d", self._end)
                    self.caught_up.set()
        finally:
            await loop.run_in_executor(self._thread, consumer.close)


def register_model_feed(app: faust.App, settings: Settings, models: OnlineModels) -> tuple[ModelFeed, Any]:
    """The feed as a task of ``app``, and the topic handle its entries are sent with."""
    topic = feed_topic(settings)
    feed = ModelFeed(settings.kafka, topic, worker_identity(settings), models)

    @app.task
    async def _follow_model_feed() -> None:
        await feed.run()

    return feed, app.topic(topic, partitions=1, key_serializer="raw", value_serializer="raw")  # type: ignore[arg-type]
