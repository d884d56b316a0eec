"""The notifier: ``enterprise.alerts`` → subscribers, exactly once per subscriber in effect.

It runs inside the worker process (started by :func:`register_notifier`) because embedded
ClickHouse belongs to one process and the notifier logs every attempt there; it reads the
alerts with its own confluent-kafka consumer and group (``<app id>.notifier``) rather than as
a Faust agent, so its position moves exactly when a notification is settled — never through
Faust's acking — and a slow receiver never holds the input agent back.

For each alert version and each subscription: :func:`streams.matching.decide`, then deliver
(:mod:`sinks.delivery`), then write the **delivery ledger** — the compacted topic
``enterprise.notifications.ledger``, key ``<subscription id>:<alert_id>:<version>``, plus one
key ``<subscription id>:<alert_id>`` saying whether the episode was notified. Settled means
delivered, silenced, or dead-lettered after the retry budget. A message's offset is committed
only when every subscriber's notification of it is settled and in the ledger; the ledger is
read to its end before any alert. So a restarted notifier skips what the ledger has and sends
what it lacks; the one window — delivered, killed before the ledger write — sends the same
``Idempotency-Key`` again, which receivers drop.

Each subscription has its own queue and task: one slow receiver delays only itself. A
webhook or kafka subscription without a grouping window has up to
``parallel_per_subscription`` notifications in flight, one per enterprise, each enterprise's
in the order of the topic (a resolution after its firing): a receiver answering slowly or
with retries for one enterprise does not hold up the others. Each holds its place until its
ledger records are acknowledged, so a notifier killed re-sends at most that many per
subscription (same ``Idempotency-Key``). Group robots (rate-limited, and without
idempotency keys) get one at a time, the next going out while the ledger acknowledges the
last. With a ``group_window_seconds`` the task gathers what arrives within the window after
the first alert version and sends one notification per enterprise (or district: ``group_by``)
listing each; the ledger still records every (subscription, alert_id, version).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
import yaml
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from tenacity import AsyncRetrying, RetryCallState, wait_random_exponential

from config import Settings
from schemas import Alert
from schemas.delivery import (
    Channel,
    EnterpriseProfile,
    GroupBy,
    GroupedNotification,
    Notification,
    Silence,
    Subscription,
    idempotency_key,
)
from sinks.channels import build_request, grouped_notification_of, notification_of
from sinks.delivery import Attempt, send_with_retries
from sinks.errors import DeliveryError
from streams.compacted import CompactedReader
from streams.kafka_admin import consume_ready, make_producer
from streams.kafka_security import confluent_config
from streams.matching import Decision, decide

if TYPE_CHECKING:
    from sinks import Database

log = logging.getLogger(__name__)

PROFILE_SQL = """
    SELECT uscc, name, district_code, industry_code, industry_section, tier
    FROM enterprise_snapshot FINAL WHERE uscc IN {usccs:Array(String)}
"""
NOTIFICATION_COLUMNS = ("subscription_id", "alert_id", "version", "attempt", "status", "http_status",
                        "latency_ms", "error", "channel", "attempted_at")  # fmt: skip


# The channels whose receivers drop a repeated Idempotency-Key: several notifications of one
# subscription may be in flight (streams.notifier.Notifier._work).
PARALLEL_CHANNELS = frozenset({Channel.WEBHOOK, Channel.KAFKA})


def _leave_lane(lanes: dict[str, asyncio.Future[None]], uscc: str, done: asyncio.Future[None]) -> None:
    if lanes.get(uscc) is done:
        del lanes[uscc]


def load_seed(path: Path) -> list[Subscription]:
    """The subscriptions of ``config/subscriptions.yaml`` (none if the file is absent)."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [Subscription.model_validate(s) for s in data.get("subscriptions") or []]


@dataclass
class PartitionProgress:
    """Offsets of one alerts partition still waiting for subscribers (in consumption order)."""

    waiting: dict[int, int] = field(default_factory=dict)  # offset → notifications unsettled
    next_offset: int = -1  # one past the last offset seen
    committed: int = -1

    def position(self) -> int:
        """Where a restart must begin: the first unsettled offset, else past everything seen."""
        return min(self.waiting) if self.waiting else self.next_offset


@dataclass
class Ledger:
    """The in-memory copy of the delivery ledger topic."""

    settled: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key → outcome
    episodes: dict[str, bool] = field(default_factory=dict)  # "<sub>:<alert_id>" → notified

    def apply(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.settled.pop(key, None)
            self.episodes.pop(key, None)
            return
        record = orjson.loads(value)
        if "notified" in record:
            self.episodes[key] = bool(record["notified"])
        else:
            self.settled[key] = record


class Notifier:
    """Consumes alerts, matches, delivers, records; see the module docstring."""

    def __init__(self, settings: Settings, db: Database, in_db_thread: Callable[..., Any]) -> None:
        self.settings = settings
        self.topics = settings.kafka.topics
        self.db = db
        self.in_db_thread = in_db_thread
        self.subscriptions: dict[str, Subscription] = {}
        self.silences: dict[str, Silence] = {}
        self.ledger = Ledger()
        self.watchlists: dict[str, frozenset[str]] = {}
        self.progress: dict[int, PartitionProgress] = {}
        self.delivered = 0
        self._queues: dict[str, asyncio.Queue[tuple[int, int, Alert, EnterpriseProfile]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._settling: set[asyncio.Future[None]] = set()  # ledger acknowledgements awaited
        self._rows: list[tuple[Any, ...]] = []
        self._mirror: list[tuple[str, tuple[Any, ...]]] = []
        self._kafka_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notifier-kafka")
        self._producer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notifier-producer")
        self._producer: Producer | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stopping = False
        self.ready = asyncio.Event()

    # -- control topics -------------------------------------------------------------------
    def apply_control(self, topic: str, key: str, value: bytes | None) -> None:
        """A subscription, silence or ledger record (from the topic, or just written)."""
        if topic == self.topics.notifications_ledger:
            self.ledger.apply(key, value)
        elif topic == self.topics.subscriptions:
            if value is None:
                self.subscriptions.pop(key, None)
            else:
                self.subscriptions[key] = Subscription.model_validate_json(value)
            self._mirror_subscription(key, self.subscriptions.get(key))
        elif topic == self.topics.silences:
            if value is None:
                self.silences.pop(key, None)
            else:
                silence = Silence.model_validate_json(value)
                self.silences[key] = silence
                self._mirror.append(("silences", (silence.id, silence.model_dump_json(), silence.author,
                                                  silence.reason, silence.starts_at, silence.ends_at, _now())))  # fmt: skip

    def _mirror_subscription(self, key: str, sub: Subscription | None) -> None:
        if sub is None:
            row = (key, "", "", "", "", False, "{}", True, _now())
        else:
            row = (sub.id, sub.name, sub.owner, sub.channel.value, sub.language.value, sub.enabled,
                   sub.model_dump_json(), False, _now())  # fmt: skip
        self._mirror.append(("subscriptions", row))

    # -- running --------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        kafka = self.settings.kafka
        self._producer = make_producer(kafka, **{"linger.ms": 5})
        self._session = aiohttp.ClientSession()
        control = await loop.run_in_executor(self._kafka_thread, CompactedReader, kafka,
                                             [self.topics.subscriptions, self.topics.silences,
                                              self.topics.notifications_ledger])  # fmt: skip
        seed_needed = control.empty
        while not control.at_end:
            for topic, key, value in await loop.run_in_executor(self._kafka_thread, control.poll, 0.5):
                self.apply_control(topic, key, value)
        if seed_needed:
            for sub in load_seed(self.settings.notifier.subscriptions_file):
                await self.write(self.topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))
        await self.refresh_watchlists()
        consumer = await loop.run_in_executor(self._kafka_thread, self._alerts_consumer)
        background = [asyncio.create_task(self._poll_producer()), asyncio.create_task(self._flush_rows_forever()),
                      asyncio.create_task(self._refresh_forever())]  # fmt: skip
        self.ready.set()
        try:
            while not self._stopping:
                for topic, key, value in await loop.run_in_executor(self._kafka_thread, control.poll, 0.0):
                    self.apply_control(topic, key, value)
                if sum(len(p.waiting) for p in self.progress.values()) >= self.settings.notifier.max_in_flight:
                    await asyncio.sleep(0.05)
                else:
                    messages = await loop.run_in_executor(self._kafka_thread, consume_ready, consumer, 500, 0.2)
                    alerts = [self._alert_of(m) for m in messages]
                    profiles = await self.profiles({a.uscc for a in alerts if a is not None})
                    for message, alert in zip(messages, alerts, strict=True):
                        if alert is not None:
                            self._dispatch(message, alert, profiles[alert.uscc])
                await self._commit(consumer)
        finally:
            for task in [*background, *self._workers.values(), *self._settling]:
                task.cancel()
            await loop.run_in_executor(self._kafka_thread, consumer.close)
            await loop.run_in_executor(self._kafka_thread, control.close)
            await self._session.close()
            self._producer.flush(5)

    def stop(self) -> None:
        self._stopping = True

    def _alerts_consumer(self) -> Consumer:
        consumer = Consumer({
            **confluent_config(self.settings.kafka), "group.id": f"{self.settings.worker.app_id}.notifier",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": int(self.settings.kafka.session_timeout_seconds * 1000),
        })  # fmt: skip
        consumer.subscribe([self.topics.alerts], on_revoke=self._revoked)
        return consumer

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Runs in the consumer's thread: commit what is settled, forget the rest (the next
        # owner starts from the first unsettled offset and asks the ledger).
        offsets = [TopicPartition(p.topic, p.partition, self.progress[p.partition].position())
                   for p in partitions if p.partition in self.progress and self.progress[p.partition].position() >= 0]  # fmt: skip
        if offsets:
            consumer.commit(offsets=offsets, asynchronous=False)
        for p in partitions:
            self.progress.pop(p.partition, None)

    async def _commit(self, consumer: Consumer) -> None:
        offsets = []
        for partition, progress in self.progress.items():
            position = progress.position()
            if position > progress.committed:
                offsets.append(TopicPartition(self.topics.alerts, partition, position))
                progress.committed = position
        if offsets:
            await asyncio.get_running_loop().run_in_executor(
                self._kafka_thread, lambda: consumer.commit(offsets=offsets, asynchronous=False))

    def _alert_of(self, message: Message) -> Alert | None:
        """The alert of a message; ``None`` for an error or a value that is not an alert."""
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("alerts consumer: %s", error)
            return None
        partition, offset = int(message.partition() or 0), int(message.offset() or 0)
        self.progress.setdefault(partition, PartitionProgress()).next_offset = offset + 1
        try:
            return Alert.model_validate_json(message.value() or b"")
        except ValueError:
            log.warning("alerts[%d]@%d is not an alert; skipped", partition, offset)
            return None

    def _dispatch(self, message: Message, alert: Alert, profile: EnterpriseProfile) -> None:
        partition, offset = int(message.partition() or 0), int(message.offset() or 0)
        targets = [s for s in self.subscriptions.values()
                   if idempotency_key(s.id, alert.alert_id, alert.version) not in self.ledger.settled]  # fmt: skip
        if not targets:
            return
        self.progress.setdefault(partition, PartitionProgress()).waiting[offset] = len(targets)
        for sub in targets:
            self._queue(sub.id).put_nowait((partition, offset, alert, profile))

    def _queue(self, subscription_id: str) -> asyncio.Queue[tuple[int, int, Alert, EnterpriseProfile]]:
        if subscription_id not in self._queues:
            self._queues[subscription_id] = asyncio.Queue()
            self._workers[subscription_id] = asyncio.create_task(self._work(subscription_id))
        return self._queues[subscription_id]

    async def _work(self, subscription_id: str) -> None:
        queue = self._queues[subscription_id]
        loop = asyncio.get_running_loop()
        unsettled: deque[asyncio.Future[None]] = deque()  # this subscription's notifications settling
        lanes: dict[str, asyncio.Future[None]] = {}  # per enterprise: its latest notification in flight
        places = asyncio.Semaphore(self.settings.notifier.parallel_per_subscription)
        while True:
            first = await queue.get()
            sub = self.subscriptions.get(subscription_id)
            window = sub.group_window_seconds if sub is not None else 0.0
            if sub is not None and window <= 0 and sub.channel in PARALLEL_CHANNELS:
                await places.acquire()
                uscc = first[2].uscc
                lane = asyncio.ensure_future(self._in_lane(subscription_id, first, lanes.get(uscc), places))
                lanes[uscc] = lane
                lane.add_done_callback(functools.partial(_leave_lane, lanes, uscc))
                self._settling.add(lane)
                lane.add_done_callback(self._settling.discard)
                continue
            if lanes:  # the subscription changed: what is in flight goes first
                await asyncio.gather(*lanes.values())
            batch = [first]
            # The ledger of one notification is acknowledged while the next goes out, never of
            # more: a notifier killed then re-sends at most two per subscription (same key).
            while len(unsettled) > 1:
                await unsettled.popleft()
            deadline = loop.time() + window
            while (left := deadline - loop.time()) > 0:  # the grouping window: what else arrives
                try:
                    batch.append(await asyncio.wait_for(queue.get(), left))
                except TimeoutError:
                    break
            # The next notification goes out while the ledger's acknowledgements come back.
            unsettled.append(await self._send_and_settle(subscription_id, batch, window))
            while unsettled and unsettled[0].done():
                unsettled.popleft()

    async def _in_lane(self, subscription_id: str, item: tuple[int, int, Alert, EnterpriseProfile],
                       before: asyncio.Future[None] | None, place: asyncio.Semaphore) -> None:  # fmt: skip
        """One notification of an enterprise, after that enterprise's previous one has settled."""
        try:
            if before is not None:
                await before
            settling = await self._send_and_settle(subscription_id, [item], 0.0)
            await settling  # the place is free once the ledger has this notification
        finally:
            place.release()

    async def _send_and_settle(
        self, subscription_id: str, batch: list[tuple[int, int, Alert, EnterpriseProfile]], window: float
    ) -> asyncio.Future[None]:
        """Decide, deliver and record ``batch``; the future of its settling (the ledger's
        acknowledgements, then the alert messages' counts)."""
        durable: list[asyncio.Task[None]] = []
        while True:  # a failure to record is retried: settling without the ledger would skip
            try:
                if window > 0:
                    await self.handle_window(subscription_id, [(alert, profile) for _, _, alert, profile in batch],
                                             durable)  # fmt: skip
                else:
                    await self.handle(subscription_id, batch[0][2], batch[0][3], durable)
                break
            except Exception:
                log.exception("notifications of %s failed to settle; retrying", subscription_id)
                await asyncio.sleep(1.0)
        settling = asyncio.ensure_future(self._settle([(p, o) for p, o, _, _ in batch], durable))
        self._settling.add(settling)
        settling.add_done_callback(self._settling.discard)
        return settling

    async def _settle(self, offsets: list[tuple[int, int]], durable: list[asyncio.Task[None]]) -> None:
        """Once its ledger records are acknowledged, each alert message counts one subscriber fewer."""
        await asyncio.gather(*durable)
        for partition, offset in offsets:
            progress = self.progress.get(partition)
            if progress is not None and offset in progress.waiting:
                progress.waiting[offset] -= 1
                if progress.waiting[offset] <= 0:
                    del progress.waiting[offset]

    # -- one notification -----------------------------------------------------------------
    async def handle(
        self, subscription_id: str, alert: Alert, profile: EnterpriseProfile, durable: list[asyncio.Task[None]]
    ) -> Decision:
        """Decide, deliver and record one (subscription, alert version); the ledger's writes
        go on in the background, their tasks added to ``durable``."""
        sub = self.subscriptions.get(subscription_id)
        key = idempotency_key(subscription_id, alert.alert_id, alert.version)
        if sub is None or key in self.ledger.settled:
            return Decision.SKIP
        episode = f"{subscription_id}:{alert.alert_id}"
        decision = decide(sub, alert, profile, self.silences.values(), self.ledger.episodes.get(episode),
                          self.watchlists.get(sub.id))  # fmt: skip
        if decision is Decision.SKIP:
            return decision
        outcome: dict[str, Any]
        if decision is Decision.SILENCED:
            outcome = {"status": "silenced"}
            self._log(sub, alert, Attempt(0, "silenced", 0, 0.0, ""))
        else:
            notification = notification_of(sub, alert, profile, self.settings.web.public_url)
            outcome = await self._deliver(sub, notification, [alert])
        await self._record(sub, [alert], outcome, durable)
        return decision

    async def handle_window(
        self, subscription_id: str, items: list[tuple[Alert, EnterpriseProfile]],
        durable: list[asyncio.Task[None]],
    ) -> None:
        """Decide each alert version of one grouping window; deliver one notification per group.

        The ledger still gets every (subscription, alert_id, version). Inside the window a
        later version of an episode is decided as if its earlier versions were delivered.
        """
        sub = self.subscriptions.get(subscription_id)
        if sub is None:
            return
        episodes: dict[str, bool] = {}
        groups: dict[str, list[tuple[Alert, EnterpriseProfile]]] = {}
        for alert, profile in items:
            if idempotency_key(sub.id, alert.alert_id, alert.version) in self.ledger.settled:
                continue
            episode = f"{sub.id}:{alert.alert_id}"
            notified = episodes.get(episode, self.ledger.episodes.get(episode))
            decision = decide(sub, alert, profile, self.silences.values(), notified, self.watchlists.get(sub.id))
            if decision is Decision.SILENCED:
                episodes.setdefault(episode, False)
                self._log(sub, alert, Attempt(0, "silenced", 0, 0.0, ""))
                await self._record(sub, [alert], {"status": "silenced"}, durable)
            elif decision is Decision.DELIVER:
                episodes.setdefault(episode, True)
                group = alert.uscc if sub.group_by is GroupBy.ENTERPRISE else (profile.district_code or "unknown")
                groups.setdefault(group, []).append((alert, profile))
        for group, members in groups.items():
            notifications = [notification_of(sub, a, p, self.settings.web.public_url) for a, p in members]
            alerts = [a for a, _ in members]
            outcome = await self._deliver(sub, grouped_notification_of(sub, notifications, group), alerts)
            await self._record(sub, alerts, outcome, durable)

    async def _record(
        self, sub: Subscription, alerts: list[Alert], outcome: dict[str, Any], durable: list[asyncio.Task[None]]
    ) -> None:
        """The ledger records of settled alert versions: the episode's first, then each version.

        They count at once for what this notifier decides next (the next version of an episode
        must know whether its first was notified); the writes are acknowledged in the
        background (their task is added to ``durable``), and a version settles only after that.
        """
        notified = outcome["status"] == "delivered"
        episodes = [(e, orjson.dumps({"notified": notified}))
                    for e in sorted({f"{sub.id}:{a.alert_id}" for a in alerts} - set(self.ledger.episodes))]  # fmt: skip
        settled = orjson.dumps({**outcome, "at": _now().isoformat()})
        versions = [(idempotency_key(sub.id, a.alert_id, a.version), settled) for a in alerts]
        for key, value in episodes + versions:
            self.ledger.apply(key, value)
        if notified:
            self.delivered += len(alerts)
        durable.append(asyncio.ensure_future(self._write_ledger(episodes, versions)))

    async def _write_ledger(self, episodes: list[tuple[str, bytes]], versions: list[tuple[str, bytes]]) -> None:
        """Until the broker has them: the episodes' records before any version's (the ledger has
        several partitions, and a version settled without its episode would leave its
        resolution undecided after a restart)."""
        ledger = self.topics.notifications_ledger
        for records in (episodes, versions):
            # A full queue or the broker away: the same records again, until it has them.
            async for attempt in AsyncRetrying(wait=wait_random_exponential(multiplier=0.5, max=30.0),
                                               before_sleep=_ledger_retry_logged):  # fmt: skip
                with attempt:
                    await asyncio.gather(*(self.write(ledger, key, value) for key, value in records))

    async def _deliver(
        self, sub: Subscription, notification: Notification | GroupedNotification, alerts: list[Alert]
    ) -> dict[str, Any]:
        """Send one notification (of one or several alert versions); each attempt is logged per version."""
        attempts: list[Attempt] = []

        def heard(attempt: Attempt) -> None:
            attempts.append(attempt)
            for alert in alerts:
                self._log(sub, alert, attempt)

        try:
            if sub.channel is Channel.KAFKA:
                started = time.monotonic()
                await self.write(sub.settings.topic or "", notification.idempotency_key,
                                 notification.model_dump_json().encode())  # fmt: skip
                heard(Attempt(1, "delivered", 0, (time.monotonic() - started) * 1000, ""))
            else:
                assert self._session is not None
                request = build_request(sub, notification, int(time.time() * 1000))
                await send_with_retries(self._session, request, sub.channel, self.settings.notifier, heard)
            return {"status": "delivered", "attempts": len(attempts), "notification": notification.idempotency_key}
        except DeliveryError as exc:
            error = str(exc)
        for alert in alerts:
            key = idempotency_key(sub.id, alert.alert_id, alert.version)
            dead = {"idempotency_key": key, "subscription_id": sub.id, "alert_id": alert.alert_id,
                    "version": alert.version, "channel": sub.channel.value, "attempts": len(attempts),
                    "last_error": error, "notification": notification.model_dump(mode="json")}  # fmt: skip
            await self.write(self.topics.notifications_deadletter, key, orjson.dumps(dead))
            self._mirror.append(("notification_dead_letters", (
                key, sub.id, alert.alert_id, alert.version, sub.channel.value, len(attempts), error,
                notification.model_dump_json(), _now())))  # fmt: skip
            self._log(sub, alert, Attempt(len(attempts), "dead_lettered", 0, 0.0, error))
        return {"status": "dead_lettered", "attempts": len(attempts), "last_error": error}

    def _log(self, sub: Subscription, alert: Alert, attempt: Attempt) -> None:
        self._rows.append((sub.id, alert.alert_id, alert.version, attempt.attempt, attempt.status, attempt.http_status,
                           attempt.latency_ms, attempt.error[:1000], sub.channel.value, _now()))  # fmt: skip

    # -- I/O helpers ----------------------------------------------------------------------
    async def write(self, topic: str, key: str, value: bytes | None) -> None:
        """Produce and wait for the broker's acknowledgement; control topics apply at once."""
        assert self._producer is not None
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def delivered(err: Any, _msg: Any) -> None:
            def settle() -> None:
                if done.done():
                    return
                if err:
                    done.set_exception(DeliveryError(f"{topic}: {err}"))
                else:
                    done.set_result(None)

            loop.call_soon_threadsafe(settle)

        self._producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
        await done
        if topic in self.topics.compacted():
            self.apply_control(topic, key, value)

    async def _poll_producer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            assert self._producer is not None
            await loop.run_in_executor(self._producer_thread, self._producer.poll, 0.05)

    async def profiles(self, usccs: set[str]) -> dict[str, EnterpriseProfile]:
        """The enterprises as ClickHouse has them, in one query (rows are flushed before alerts are produced)."""
        found = {u: EnterpriseProfile(uscc=u) for u in usccs}
        if not usccs:
            return found
        try:
            columns, rows = await self.in_db_thread(self.db.query, PROFILE_SQL, {"usccs": sorted(usccs)})
        except Exception:
            log.exception("enterprise profiles unavailable")
            return found
        for row in rows:
            profile = EnterpriseProfile.model_validate({c: ("" if v is None else v) for c, v in zip(columns, row, strict=True)})
            found[profile.uscc] = profile
        return found

    async def refresh_watchlists(self) -> None:
        from streams.queries import run_query

        for sub in list(self.subscriptions.values()):
            if not sub.filters.watch_query:
                continue
            try:
                _, rows = await self.in_db_thread(run_query, self.db, sub.filters.watch_query)
                self.watchlists[sub.id] = frozenset(str(r[0]) for r in rows if r)
            except Exception as exc:  # a bad query keeps the last list; the operator reads the log
                log.warning("watch-list of subscription %s not refreshed: %s", sub.id, exc)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.notifier.watchlist_refresh_seconds)
            await self.refresh_watchlists()

    async def flush_rows(self) -> None:
        rows, self._rows = self._rows, []
        mirror, self._mirror = self._mirror, []
        try:
            if rows:
                await self.in_db_thread(self.db.insert_columns, "notifications", list(zip(*rows, strict=True)),
                                        NOTIFICATION_COLUMNS)  # fmt: skip
            for table, row in mirror:
                await self.in_db_thread(self.db.insert_columns, table, [[v] for v in row], MIRROR_COLUMNS[table])
        except Exception:
            log.exception("notification log not written; keeping it for the next flush")
            self._rows[:0] = rows
            self._mirror[:0] = mirror

    async def _flush_rows_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.flush_rows()


MIRROR_COLUMNS: dict[str, tuple[str, ...]] = {
    "subscriptions": ("id", "name", "owner", "channel", "language", "enabled", "definition", "deleted", "changed_at"),
    "silences": ("id", "definition", "author", "reason", "starts_at", "ends_at", "changed_at"),
    "notification_dead_letters": ("idempotency_key", "subscription_id", "alert_id", "version", "channel", "attempts",
                                  "last_error", "notification", "dead_lettered_at"),
}  # fmt: skip


def _ledger_retry_logged(state: RetryCallState) -> None:
    log.warning("ledger records not written (%s); trying again", state.outcome.exception() if state.outcome else "?")


def _now() -> datetime:
    return datetime.now(UTC)
