"""Live alert fan-out for ``/api/alerts/stream`` (server-sent events, resumable).

:class:`AlertBroadcaster` numbers every published alert version with a per-worker sequence
(1, 2, 3, …), keeps the last ``capacity`` of them in a ring buffer, and hands each one to
the live subscribers. A client that reconnects with ``Last-Event-ID: n`` first gets the
buffered alerts after ``n``, then the live ones; nothing is lost unless it fell more than
``capacity`` alerts behind.

The sequence starts again at 1 when the worker restarts. A ``Last-Event-ID`` above the
current sequence therefore comes from an earlier run of the worker, and such a client gets
the whole buffer (it may see alert versions again; ``(alert_id, version)`` identifies them).

All methods are meant for one event loop: Faust runs its web views and agents on the same
loop, so ``publish`` from an agent and the subscriptions of the views need no locking.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

DEFAULT_CAPACITY = 10_000
DEFAULT_SUBSCRIBER_QUEUE = 1_000


@dataclass(frozen=True)
class SequencedAlert:
    """One alert version as sent to the alerts topic, with its sequence number."""

    seq: int
    data: bytes


class Subscription:
    """The alerts after a sequence number: the buffered backlog, then live ones.

    Iteration ends when the subscriber falls more than its queue size behind (the client
    should reconnect with its last id, and resumes from the ring buffer) or when the
    broadcaster closes.
    """

    def __init__(self, broadcaster: AlertBroadcaster, backlog: list[SequencedAlert], maxsize: int) -> None:
        self._broadcaster = broadcaster
        self._backlog = deque(backlog)
        self._queue: asyncio.Queue[SequencedAlert | None] = asyncio.Queue(maxsize=maxsize)
        self.lagged = False
        self.closed = False

    def _offer(self, item: SequencedAlert | None) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.lagged = True
            self._end()

    def _end(self) -> None:
        """Wake the reader so it stops, whatever is queued."""
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def close(self) -> None:
        if not self.closed:
            self._end()
        self._broadcaster._unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[SequencedAlert]:
        return self

    async def __anext__(self) -> SequencedAlert:
        if self._backlog:
            return self._backlog.popleft()
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def next(self, timeout: float) -> SequencedAlert | None:
        """The next alert, or ``None`` when nothing arrived within ``timeout`` seconds.

        Raises :class:`StopAsyncIteration` when the subscription ended.
        """
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except TimeoutError:
            return None

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class AlertBroadcaster:
    """Sequence numbers, a bounded replay buffer and live fan-out of alert versions."""

    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE
    ) -> None:
        if capacity < 1 or subscriber_queue < 1:
            raise ValueError("capacity and subscriber_queue must be >= 1")
        self.capacity = capacity
        self.subscriber_queue = subscriber_queue
        self._ring: deque[SequencedAlert] = deque(maxlen=capacity)
        self._seq = 0
        self._subscribers: set[Subscription] = set()
        self.closed = False

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest published alert (0 before the first)."""
        return self._seq

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, alert_json: bytes) -> int:
        """Buffer one alert version, wake the subscribers, and return its sequence number."""
        self._seq += 1
        item = SequencedAlert(self._seq, bytes(alert_json))
        self._ring.append(item)
        for subscription in list(self._subscribers):
            subscription._offer(item)
            if subscription.closed:
                self._subscribers.discard(subscription)
        return self._seq

    def since(self, seq: int) -> list[SequencedAlert]:
        """The buffered alerts with a sequence number above ``seq`` (oldest first)."""
        if seq > self._seq:  # an id from an earlier run of the worker
            seq = 0
        if not self._ring or seq >= self._seq:
            return []
        first = self._ring[0].seq
        start = max(0, seq + 1 - first)
        return [self._ring[i] for i in range(start, len(self._ring))]

    def subscribe(self, last_seq: int | None = None) -> Subscription:
        """Alerts after ``last_seq`` (buffered ones first), then every new one.

        ``None`` means "only new ones" (a first connection without ``Last-Event-ID``).
        """
        backlog = [] if last_seq is None else self.since(last_seq)
        subscription = Subscription(self, backlog, self.subscriber_queue)
        if self.closed:
            subscription._end()
        else:
            self._subscribers.add(subscription)
        return subscription

    def close(self) -> None:
        """End every subscription (the web server is shutting down)."""
        self.closed = True
        for subscription in list(self._subscribers):
            subscription._end()
        self._subscribers.clear()

    def _unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)


def parse_last_event_id(value: str | None) -> int | None:
    """``Last-Event-ID`` (or a ``?last_event_id=`` fallback) as a sequence number."""
    if value is None or not value.strip():
        return None
    try:
        seq = int(value.strip())
    except ValueError:
        return None
    return seq if seq >= 0 else None
