"""Every worker learns from every enterprise: the scorer's learning shared through a topic.

With several workers in a group, each scores the enterprises of its own partitions. Left
alone, each worker's peer index (behind every percentile) and exit-risk model would learn
from those enterprises only, so scores, tiers and lists would depend on how the partitions
are spread. Instead each worker publishes what its scorer learned from every scored
enterprise (:class:`detectors.scoring.scorer.Learning`: peer keys, peer features, the
exit-risk snapshot, the business month) to the group's feed topic ``<app id>-model-feed``
(one partition, compacted by USCC), as an output of the commit protocol's step 2. Every
worker follows the topic and, before each batch, learns the entries other workers wrote
(:meth:`ModelFeed.learn_pending`); its own it has learned already.

The position reached on the feed is part of the models (``OnlineModels.feed_offset``) and
checkpointed with them, so a restarted worker reads on from where its checkpoint left off;
a worker without a checkpoint reads the feed from the beginning (compaction keeps the
latest entry of every enterprise). No batch runs before the feed has been read to the end
it had when the worker started. Learning an entry twice changes nothing (the peer index
keeps one current value per enterprise, the exit-risk model one snapshot per month).

What it does not make exact: a worker learns another's entries at its own batch boundaries,
not at their place in event time, so on the same events one worker and two give percentiles
a little apart (measured by ``python -m bench.scaleout``). The series detectors, the peer
divergence detector and the industries' levels stay per worker.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import faust
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from config import KafkaSettings, Settings
from detectors.models import OnlineModels
from detectors.scoring.scorer import Learning
from streams.kafka_security import confluent_config

log = logging.getLogger(__name__)


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


def encode(learning: Learning, worker: str) -> bytes:
    """One feed entry.

    >>> value = encode(Learning("U1", ("C|small", "*"), {"revenue_annual": 2.0}, None, False, 24312), "w1")
    >>> decode(value)
    ('w1', Learning(uscc='U1', keys=('C|small', '*'), scored={'revenue_annual': 2.0}, x=None, exited=False, month=24312))
    """
    return orjson.dumps({
        "w": worker, "u": learning.uscc, "k": learning.keys, "f": learning.scored, "x": learning.x,
        "e": learning.exited, "m": learning.month,
    })  # fmt: skip


def decode(value: bytes | None) -> tuple[str, Learning] | None:
    """``(worker, learning)``, or ``None`` for what is not a feed entry.

    >>> decode(b"{}"), decode(b"not json"), decode(None)
    (None, None, None)
    """
    if value is None:
        return None
    try:
        data = orjson.loads(value)
        learning = Learning(
            uscc=str(data["u"]), keys=tuple(str(k) for k in data["k"]),
            scored={str(k): float(v) for k, v in data["f"].items()},
            x=None if data["x"] is None else {str(k): float(v) for k, v in data["x"].items()},
            exited=bool(data["e"]), month=None if data["m"] is None else int(data["m"]),
        )  # fmt: skip
        return str(data["w"]), learning
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def ensure_feed_topic(kafka: KafkaSettings, name: str, timeout: float = 30.0) -> None:
    """One partition (one order for every reader), compacted by USCC."""
    admin = AdminClient(confluent_config(kafka))
    if name in admin.list_topics(timeout=timeout).topics:
        return
    topic = NewTopic(name, num_partitions=1, replication_factor=kafka.replication_factor,
                     config={"cleanup.policy": "compact"})  # fmt: skip
    try:
        admin.create_topics([topic])[name].result(timeout)
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise


class ModelFeed:
    """Follows the feed in a thread of its own; the event loop learns what it read."""

    def __init__(self, kafka: KafkaSettings, topic: str, worker: str, models: OnlineModels) -> None:
        self.kafka = kafka
        self.topic = topic
        self.worker = worker
        self.models = models
        self.caught_up = asyncio.Event()
        self.pending: deque[tuple[int, bytes | None]] = deque()  # (offset, value), appended by the thread
        self.learned = 0  # other workers' entries learned
        self.skipped = 0  # entries that are not feed entries
        self._end = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-feed")

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
        """Queue what arrived; the offset after the last record read (or -1)."""
        last = -1
        for msg in consumer.consume(1000, 0.5):
            if msg.error():
                continue
            last = int(msg.offset() or 0)
            self.pending.append((last, msg.value()))
        return last

    def learn_pending(self) -> int:
        """Learn every queued entry another worker wrote (call between batches, in the event loop)."""
        learned = 0
        scorer = self.models.scorer
        while self.pending:
            offset, value = self.pending.popleft()
            self.models.feed_offset = offset + 1
            entry = decode(value)
            if entry is None:
                if value is not None:
                    self.skipped += 1
                continue
            worker, learning = entry
            if worker != self.worker:
                scorer.learn(learning)
                learned += 1
        self.learned += learned
        return learned

    async def run(self) -> None:
        """Read to the end seen at start (then release the batches), and keep following."""
        loop = asyncio.get_running_loop()
        try:
            consumer = await loop.run_in_executor(self._thread, self._open, self.models.feed_offset)
        except Exception as exc:  # noqa: BLE001 - the worker runs on, learning only its own partitions
            log.error("cannot read %s, scores learn from this worker's partitions only: %s", self.topic, exc)
            self.caught_up.set()
            return
        try:
            while True:
                last = await loop.run_in_executor(self._thread, self._poll, consumer)
                if not self.caught_up.is_set() and (last + 1 >= self._end or (self.models.feed_offset or 0) >= self._end):
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
