"""Alert versions for ``/api/alerts/stream`` and ``entbrain alerts tail``, served from the topic.

The stream is the ``enterprise.alerts`` topic itself, not a copy: nothing lives only in the
worker's memory, so a client that resumes after a worker restart misses nothing.

**Event ids are cursors.** Each event's id lists, for every partition of the alerts topic,
the offset up to which the client has been served (``-1``: nothing yet), this event's own
``partition:offset`` first::

    id: 2:56,0:1234,1:88

means "this is the message at partition 2, offset 56; of partitions 0 and 1 the client has
had everything up to offsets 1234 and 88". A client that reconnects with that id as
``Last-Event-ID`` is served from offset 57 of partition 2, 1235 of partition 0 and 89 of
partition 1 — exactly what follows, whichever worker or worker run serves it. A partition the
id does not name is read from its beginning.

**Repeats.** After a crash the worker may write an alert version again (the commit protocol
re-derives the same ``(alert_id, version)``, byte-identical). :class:`AlertFeed` reads the
topic from its beginning at start and remembers where each ``(alert_id, version)`` first
appeared; only that first copy is ever sent, live or on resume.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from config import KafkaSettings
from schemas.delivery import SEVERITY_RANK
from schemas.outputs import Severity
from streams.kafka_admin import consume_ready
from streams.kafka_security import confluent_config

log = logging.getLogger(__name__)

DEFAULT_SUBSCRIBER_QUEUE = 1_000
Cursor = dict[int, int]  # partition → last offset served (-1: none)


@dataclass(frozen=True)
class StreamedAlert:
    """One alert version as it stands on the topic."""

    partition: int
    offset: int
    alert: dict[str, object]
    data: bytes

    @property
    def identity(self) -> tuple[str, int]:
        return str(self.alert.get("alert_id", "")), int(self.alert.get("version", 0))  # type: ignore[call-overload]


def format_cursor(cursor: Mapping[int, int], first: int) -> str:
    """The event id: partition ``first`` (the event's own) leads, the others follow in order.

    >>> format_cursor({0: 1234, 1: -1, 2: 56}, first=2)
    '2:56,0:1234,1:-1'
    """
    order = [first, *sorted(p for p in cursor if p != first)]
    return ",".join(f"{p}:{cursor[p]}" for p in order)


def parse_cursor(value: str | None) -> Cursor | None:
    """``Last-Event-ID`` as a cursor; ``None`` for a missing or malformed id (then: only new alerts).

    >>> parse_cursor("2:56,0:1234,1:-1")
    {2: 56, 0: 1234, 1: -1}
    >>> parse_cursor("17"), parse_cursor("x:y"), parse_cursor(None)
    (None, None, None)
    """
    if value is None or not value.strip():
        return None
    cursor: Cursor = {}
    for pair in value.strip().split(","):
        partition, sep, offset = pair.partition(":")
        try:
            p, o = int(partition), int(offset)
        except ValueError:
            return None
        if not sep or p < 0 or o < -1:
            return None
        cursor[p] = o
    return cursor


@dataclass(frozen=True)
class AlertFilter:
    """The stream's query-string filters; empty means "any".

    ``severity`` is a minimum; ``district`` a GB/T 2260 code prefix of the enterprise's
    district; ``type`` and ``uscc`` may hold several comma-separated values.
    """

    min_severity: Severity = Severity.INFO
    districts: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    usccs: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AlertFilter:
        """From ``?severity=&district=&type=&uscc=``; raises ``ValueError`` on an unknown severity."""

        def values(name: str) -> tuple[str, ...]:
            return tuple(v.strip() for v in (query.get(name) or "").split(",") if v.strip())

        severity = (query.get("severity") or "").strip()
        return cls(Severity(severity) if severity else Severity.INFO, values("district"), values("type"), values("uscc"))

    def wants(self, alert: Mapping[str, object], district_code: str = "") -> bool:
        """Whether the alert passes; ``district_code`` matters only with a district filter."""
        try:
            severity = Severity(str(alert.get("severity")))
        except ValueError:
            return False
        if SEVERITY_RANK[severity] < SEVERITY_RANK[self.min_severity]:
            return False
        if self.types and alert.get("alert_type") not in self.types:
            return False
        if self.usccs and alert.get("uscc") not in self.usccs:
            return False
        return not self.districts or any(district_code.startswith(d) for d in self.districts)


def decode(partition: int, offset: int, value: bytes | None) -> StreamedAlert | None:
    try:
        alert = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(alert, dict) or "alert_id" not in alert:
        return None
    return StreamedAlert(partition, offset, alert, bytes(value or b""))


@dataclass(eq=False)  # by identity: kept in a set
class _Live:
    queue: asyncio.Queue[StreamedAlert | None]
    closed: bool = False


@dataclass
class AlertFeed:
    """Follows the alerts topic for the worker's streams: first copies, positions, live fan-out.

    :meth:`run` reads every partition from its beginning (group-less), notes where each
    ``(alert_id, version)`` first appeared, and hands first copies to the live subscribers.
    :meth:`serve` gives one client what follows its cursor: the part the feed has already
    passed is read again from the topic by a consumer of the client's own, the rest comes live.
    """

    kafka: KafkaSettings
    subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE
    first: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    position: dict[int, int] = field(default_factory=dict)  # partition → next offset the feed reads
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    _live: set[_Live] = field(default_factory=set)
    _thread: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-feed")
    )

    @property
    def subscribers(self) -> int:
        return len(self._live)

    def is_first(self, item: StreamedAlert) -> bool:
        return self.first.get(item.identity) == (item.partition, item.offset)

    def note(self, item: StreamedAlert) -> bool:
        """Record one message read in order; whether it is the first copy of its alert version."""
        self.position[item.partition] = item.offset + 1
        where = self.first.setdefault(item.identity, (item.partition, item.offset))
        return where == (item.partition, item.offset)

    def publish(self, item: StreamedAlert) -> None:
        if not self.note(item):
            return
        for live in list(self._live):
            if live.closed:
                continue
            try:
                live.queue.put_nowait(item)
            except asyncio.QueueFull:  # too far behind: the client reconnects with its cursor
                live.closed = True
                _wake(live)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        consumer, ends = await loop.run_in_executor(self._thread, self._open)
        try:
            while not self.closed:
                messages = await loop.run_in_executor(self._thread, consume_ready, consumer, 1000, 0.2)
                for message in messages:
                    item = _item(message)
                    if item is not None:
                        self.publish(item)
                    elif message.error() is None:
                        self.position[int(message.partition() or 0)] = int(message.offset() or 0) + 1
                if not self.ready.is_set() and all(self.position.get(p, 0) >= end for p, end in ends.items()):
                    self.ready.set()
        finally:
            await loop.run_in_executor(self._thread, consumer.close)

    def _open(self) -> tuple[Consumer, dict[int, int]]:
        consumer = _consumer(self.kafka)
        partitions = _partitions(consumer, self.kafka.topics.alerts)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(self.kafka.topics.alerts, p), timeout=10)[1]
                for p in partitions}  # fmt: skip
        for p in partitions:
            self.position.setdefault(p, 0)
        consumer.assign([TopicPartition(self.kafka.topics.alerts, p, OFFSET_BEGINNING) for p in partitions])
        return consumer, ends

    async def serve(self, cursor: Cursor | None) -> AsyncGenerator[tuple[StreamedAlert, Cursor], None]:
        """First copies after ``cursor`` (``None``: from now on), each with the cursor past it.

        Where "now" is, is fixed when this returns, before the first item is asked for: a
        view calls it before its response headers go out, so a client that saw them misses
        nothing. Iterate the result to its end or ``aclose()`` it.
        """
        await self.ready.wait()
        passed = dict(self.position)
        start = dict(passed) if cursor is None else {p: cursor.get(p, -1) + 1 for p in passed}
        live = _Live(asyncio.Queue(maxsize=self.subscriber_queue))
        self._live.add(live)  # before reading the backlog: nothing falls between the two
        return self._serve(start, passed, live)

    async def _serve(
        self, start: dict[int, int], passed: dict[int, int], live: _Live
    ) -> AsyncGenerator[tuple[StreamedAlert, Cursor], None]:
        served: Cursor = {p: o - 1 for p, o in start.items()}
        try:
            backlog = {p: (start[p], passed[p]) for p in passed if start[p] < passed[p]}
            if backlog:
                async for item in self._read_again(backlog):
                    served[item.partition] = item.offset
                    if self.is_first(item):
                        yield item, dict(served)
            while not self.closed:
                got = await live.queue.get()
                if got is None:
                    return
                if got.offset < start.get(got.partition, 0):
                    continue
                served[got.partition] = got.offset
                yield got, dict(served)
        finally:
            self._live.discard(live)

    async def _read_again(self, ranges: dict[int, tuple[int, int]]) -> AsyncIterator[StreamedAlert]:
        """The messages of ``[start, end)`` per partition, from the topic."""
        loop = asyncio.get_running_loop()
        topic = self.kafka.topics.alerts
        consumer = await loop.run_in_executor(None, _consumer, self.kafka)
        try:
            consumer.assign([TopicPartition(topic, p, lo) for p, (lo, _) in ranges.items()])
            remaining = {p: hi for p, (_, hi) in ranges.items()}
            while remaining and not self.closed:
                for message in await loop.run_in_executor(None, consume_ready, consumer, 500, 0.5):
                    p, o = int(message.partition() or 0), int(message.offset() or 0)
                    if message.error() is not None or p not in remaining or o >= remaining[p]:
                        continue
                    if o + 1 >= remaining[p]:
                        del remaining[p]
                    item = _item(message)
                    if item is not None:
                        yield item
        finally:
            await loop.run_in_executor(None, consumer.close)

    def close(self) -> None:
        """End every stream (the web server is shutting down)."""
        self.closed = True
        for live in list(self._live):
            live.closed = True
            _wake(live)


def _wake(live: _Live) -> None:
    while not live.queue.empty():
        live.queue.get_nowait()
    live.queue.put_nowait(None)


def _item(message: Message) -> StreamedAlert | None:
    error = message.error()
    if error is not None:
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("alerts feed: %s", error)
        return None
    return decode(int(message.partition() or 0), int(message.offset() or 0), message.value())


def _consumer(kafka: KafkaSettings) -> Consumer:
    return Consumer({**confluent_config(kafka), "group.id": f"entbrain-stream-{uuid.uuid4().hex[:8]}",
                     "enable.auto.commit": False, "enable.partition.eof": False})  # fmt: skip


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if meta is None or meta.error is not None:
        raise LookupError(f"topic {topic} does not exist")
    return sorted(meta.partitions)


class DistrictCache:
    """An enterprise's district code, asked once per USCC (a district filter needs it)."""

    def __init__(self, lookup: Callable[[str], Awaitable[str]]) -> None:
        self._lookup = lookup
        self._known: dict[str, str] = {}

    async def district_of(self, uscc: str) -> str:
        if uscc not in self._known:
            district = await self._lookup(uscc)
            if not district:
                return ""  # not in the snapshot yet: ask again next time
            self._known[uscc] = district
        return self._known[uscc]

