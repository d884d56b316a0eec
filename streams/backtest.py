"""Backtests: the input of a period through an alternative configuration, beside the live run.

A backtest named N runs in the CLI's own process with its own identity, so it can never
disturb the worker or anybody's inbox: app id ``backtest-N``, its own ClickHouse (a chDB
directory ``<data dir>/backtest-N/clickhouse``, or the database ``<database>_backtest_N``
on a server), its own output topics ``backtest.N.<scores|alerts|lists|deadletter>`` (no
notifier reads them), and the rules and scoring YAML of ``--config DIR`` (a file missing
there is the packaged one). It reads the input topics without joining the worker's group
or committing anything, keeps the events whose business time lies in ``[from, to]``,
orders each partition like the worker (event time, topic rank, offset), folds the very
same pure pipeline over them from an empty state with fresh models, and writes a manifest
``<data dir>/backtest-N/manifest.json``.

:func:`diff` compares it with the live tables over the same period: enterprise/alert-type
pairs that fired only in one of them, by type and district, and the tier moves of the
enterprises both know. The backtest starts from nothing at ``from``: choose the start of
the history for a like-for-like comparison.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, TopicPartition

from config import Settings, load_scoring_config
from config.rules import RULES_YAML, RuleConfig, load_rules
from config.scoring import DEFAULT_SCORING_PATH, ScoringConfig
from detectors.models import OnlineModels
from detectors.scoring import EnterpriseScorer
from schemas.events import SHANGHAI
from schemas.state_codec import StateCache
from sinks import ClickHouseSink, Database, migrate
from streams.alignment import EventTimeAligner, Record
from streams.batch import OutputTopics, process_batch
from streams.errors import CliError
from streams.kafka_admin import ensure_topics, make_producer
from streams.kafka_security import confluent_config
from streams.pipeline import RawMessage

NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")
BATCH = 2000
Progress = Callable[[int, int], None]  # (records read, of total)


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise CliError(f"backtest name {name!r}: use 1-40 lower-case letters, digits and underscores")
    return name


def home(settings: Settings, name: str) -> Path:
    return settings.worker.data_dir / f"backtest-{name}"


def backtest_settings(settings: Settings, name: str) -> Settings:
    """The live settings with the backtest's own app id, ClickHouse and output topics."""
    ch = settings.clickhouse
    clickhouse = (ch.model_copy(update={"url": f"chdb://{home(settings, name) / 'clickhouse'}"}) if ch.embedded
                  else ch.model_copy(update={"database": f"{ch.database}_backtest_{name}"}))  # fmt: skip
    topics = settings.kafka.topics.model_copy(update={
        kind: f"backtest.{name}.{kind}" for kind in ("scores", "alerts", "lists", "deadletter")})  # fmt: skip
    return settings.model_copy(update={
        "worker": settings.worker.model_copy(update={"app_id": f"backtest-{name}"}),
        "clickhouse": clickhouse,
        "kafka": settings.kafka.model_copy(update={"topics": topics}),
    })  # fmt: skip


def load_config(directory: Path) -> tuple[RuleConfig, ScoringConfig]:
    if not directory.is_dir():
        raise CliError(f"--config {directory}: not a directory (it holds rules.yaml and/or scoring.yaml)")
    rules = directory / "rules.yaml"
    scoring = directory / "scoring.yaml"
    try:
        return (load_rules(rules if rules.exists() else RULES_YAML),
                load_scoring_config(scoring if scoring.exists() else DEFAULT_SCORING_PATH))  # fmt: skip
    except ValueError as exc:
        raise CliError(f"--config {directory}: {' '.join(str(exc).split())[:400]}") from None


def _bounds(start: date, end: date) -> tuple[float, float]:
    first = datetime.combine(start, time.min, SHANGHAI).timestamp()
    last = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI).timestamp()
    return first, last


def read_inputs(settings: Settings, start: date, end: date, progress: Progress) -> list[RawMessage]:
    """The input records whose event time is in ``[start, end]``, in the worker's order per partition."""
    low_t, high_t = _bounds(start, end)
    consumer = Consumer({**confluent_config(settings.kafka), "group.id": f"{settings.worker.app_id}-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})  # fmt: skip
    try:
        ends: dict[tuple[str, int], int] = {}
        parts: list[TopicPartition] = []
        for topic in settings.kafka.topics.inputs():
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None:
                raise CliError(f"topic {topic} does not exist on {settings.kafka.bootstrap_servers}")
            for p in sorted(meta.partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    ends[(topic, p)] = high
                    parts.append(TopicPartition(topic, p, low))
        total = sum(ends[(tp.topic, tp.partition)] - tp.offset for tp in parts)
        consumer.assign(parts)
        records: list[RawMessage] = []
        seen = 0
        remaining = set(ends)
        while remaining:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0)
            seen += 1
            if offset + 1 >= ends[(topic, partition)]:
                remaining.discard((topic, partition))
            if seen % 1000 == 0 or not remaining:
                progress(seen, total)
            record_time = msg.timestamp()[1] / 1000  # the business send time (streams.send_times)
            if low_t <= record_time < high_t:
                records.append(RawMessage(topic, partition, offset, msg.key(), msg.value(), record_time))
        # the worker's order: each partition in offset order, merged by record time (streams.alignment)
        aligner = EventTimeAligner(settings.kafka.topics.inputs(), max_held=len(records) + 1)
        for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
            aligner.add(Record(r.topic, r.partition, r.offset, r.timestamp or 0.0, r))
        return [rec.item for rec in aligner.release(lambda topic, partition, next_offset: True, now=0.0)]
    finally:
        consumer.close()


@dataclass(frozen=True)
class BacktestRun:
    name: str
    start: date
    end: date
    config_dir: str
    rules_version: str
    scoring_version: str
    counts: dict[str, int]
    outputs: int
    clickhouse: str

    def manifest(self) -> dict[str, Any]:
        return {**self.__dict__, "start": self.start.isoformat(), "end": self.end.isoformat()}


def run(settings: Settings, name: str, start: date, end: date, config_dir: Path, progress: Progress) -> BacktestRun:
    """Process the period through the alternative configuration into the backtest's own places."""
    if end < start:
        raise CliError("--to is before --from")
    rules, scoring = load_config(config_dir)
    own = backtest_settings(settings, name)
    records = read_inputs(own, start, end, progress)
    if own.clickhouse.embedded:
        shutil.rmtree(home(settings, name) / "clickhouse", ignore_errors=True)  # a rerun starts clean
    db = Database(own.clickhouse)
    if not own.clickhouse.embedded:
        db.command(f"DROP DATABASE IF EXISTS {own.clickhouse.database}")
        db.command(f"CREATE DATABASE {own.clickhouse.database}")
    names = own.kafka.topics
    ensure_topics(own.kafka, [names.scores, names.alerts, names.lists, names.deadletter])
    producer = make_producer(own.kafka)
    out_topics = OutputTopics(scores=names.scores, alerts=names.alerts, lists=names.lists, deadletter=names.deadletter)
    models = OnlineModels(scorer=EnterpriseScorer(scoring))
    states: dict[bytes, bytes] = {}
    cache = StateCache(own.worker.state_cache)
    counts: Counter[str] = Counter()
    produced = 0
    try:
        migrate(db)
        sink = ClickHouseSink(db, own.sink)
        for first in range(0, len(records), BATCH):
            chunk = records[first : first + BATCH]
            batch = process_batch(((r, None) for r in chunk), states.get, sink, out_topics, own, rules, models,
                                  datetime.now(UTC), cache=cache)  # fmt: skip
            sink.flush()
            for topic, key, value in batch.outputs.messages:
                producer.produce(topic, key=key, value=value)
                produced += 1
            if producer.flush(60) != 0:
                raise CliError("backtest outputs still undelivered to Kafka after 60 s")
            states.update(batch.outputs.states)
            counts.update(outcome for _, outcome in batch.counted)
    finally:
        db.close()
    result = BacktestRun(name, start, end, str(config_dir), rules.version, scoring.version, dict(counts), produced,
                         own.clickhouse.url.split("@")[-1] + "#" + own.clickhouse.database)  # fmt: skip
    target = home(settings, name) / "manifest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(orjson.dumps(result.manifest(), option=orjson.OPT_INDENT_2))
    return result


def load_manifest(settings: Settings, name: str) -> dict[str, Any]:
    path = home(settings, check_name(name)) / "manifest.json"
    if not path.exists():
        raise CliError(f"no backtest named {name!r} (run `entbrain backtest run --name {name} …` first)")
    return dict(orjson.loads(path.read_bytes()))


FIRED = ("SELECT DISTINCT uscc, alert_type, district_code FROM alert_events FINAL WHERE state = 'firing' "
         "AND toDate(occurred_at) BETWEEN {start:Date} AND {end:Date}")  # fmt: skip
TIERS = "SELECT uscc, tier FROM enterprise_snapshot FINAL"
Rows = Callable[[str, dict[str, Any]], list[list[Any]]]


def collect(rows: Rows, start: str, end: str) -> dict[str, list[list[Any]]]:
    """What :func:`diff` compares, from one side (embedded chDB opens one directory at a time)."""
    return {"fired": rows(FIRED, {"start": start, "end": end}), "tiers": rows(TIERS, {})}


def diff(live: dict[str, list[list[Any]]], backtest: dict[str, list[list[Any]]]) -> dict[str, Any]:
    """Alerts added / removed (by type and district) and tier moves, backtest against live."""
    live_fired = {(r[0], r[1]): r[2] for r in live["fired"]}
    test_fired = {(r[0], r[1]): r[2] for r in backtest["fired"]}
    added = Counter((t, test_fired[(u, t)]) for u, t in test_fired.keys() - live_fired.keys())
    removed = Counter((t, live_fired[(u, t)]) for u, t in live_fired.keys() - test_fired.keys())
    live_tiers = {r[0]: r[1] for r in live["tiers"]}
    test_tiers = {r[0]: r[1] for r in backtest["tiers"]}
    moves = Counter((live_tiers[u], test_tiers[u]) for u in live_tiers.keys() & test_tiers.keys()
                    if live_tiers[u] != test_tiers[u])  # fmt: skip

    def rows(counter: Counter[tuple[str, str]], a: str, b: str) -> list[dict[str, Any]]:
        return [{a: x, b: y, "count": n} for (x, y), n in sorted(counter.items())]

    return {
        "added": rows(added, "alert_type", "district_code"),
        "removed": rows(removed, "alert_type", "district_code"),
        "unchanged": len(live_fired.keys() & test_fired.keys()),
        "tier_moves": rows(moves, "from_tier", "to_tier"),
        "enterprises_compared": len(live_tiers.keys() & test_tiers.keys()),
    }
