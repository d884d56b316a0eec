"""The offline oracle: what a worker must end with, computed from the input topics alone.

It reads back every record of the input topics, orders them the way the worker does
(:mod:`streams.alignment`: per partition number, the topics' queues merged by event time) and folds the same pure
pipeline (:func:`streams.batch.process_batch`) over them with fresh models and one record
time each (the record's Kafka timestamp). With one partition the order of the whole
stream is total, so every state, score, alert version and ClickHouse row is determined;
with several, the online models see partitions interleaved and only the per-enterprise
results are comparable.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from config import Settings
from config.rules import load_rules
from detectors.models import OnlineModels
from schemas.state_codec import state_json
from streams.alignment import EventTimeAligner, Record
from streams.batch import OutputTopics, process_batch
from streams.harness import read_topic
from streams.pipeline import RawMessage

# What identifies a row of each table (its ReplacingMergeTree key).
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "events": ("kind", "uscc", "event_id"),
    "dead_letters": ("topic", "partition", "offset"),
    "enterprise_snapshot": ("uscc",),
    "scores": ("uscc", "state_version"),
    "alerts": ("alert_id",),
    "alert_events": ("alert_id", "version"),
    "list_changes": ("uscc", "list_name", "event_id", "change"),
}


class _Rows:
    """Collects the rows a sink would receive, as their identities."""

    def __init__(self) -> None:
        self.keys: dict[str, set[tuple[Any, ...]]] = defaultdict(set)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.keys[table].add(tuple(row[k] for k in ROW_KEYS[table]))


@dataclass
class Expected:
    states: dict[str, dict[str, Any]]
    alerts: set[tuple[str, int]]
    alert_values: dict[tuple[str, int], dict[str, Any]]
    rows: dict[str, int]
    outcomes: Counter[str] = field(default_factory=Counter)


def canonical_order(records: list[RawMessage], topics: tuple[str, ...]) -> list[RawMessage]:
    """The worker's order with every record buffered: each partition a queue in offset order,
    the queues of one partition number merged by their heads' event time (the aligner)."""
    aligner = EventTimeAligner(topics, max_idle=0.0, max_held=len(records) + 1)
    for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        aligner.add(Record(r.topic, r.partition, r.offset, r.timestamp or 0.0, r))
    return [record.item for record in aligner.release(lambda topic, partition, next_offset: True, now=0.0)]


def input_records(settings: Settings) -> list[RawMessage]:
    out: list[RawMessage] = []
    for topic in settings.kafka.topics.inputs():
        for msg in read_topic(settings.kafka.bootstrap_servers, topic, timeout=120):
            _, millis = msg.timestamp()
            out.append(RawMessage(topic, int(msg.partition()), int(msg.offset()), msg.key(), msg.value(), millis / 1000))
    return out


def expected_results(settings: Settings) -> Expected:
    topics = settings.kafka.topics
    records = canonical_order(input_records(settings), topics.inputs())
    out_topics = OutputTopics(scores="scores", alerts="alerts", lists="lists", deadletter="deadletter")
    rows = _Rows()
    stored: dict[bytes, bytes] = {}
    batch = process_batch(
        ((r, None) for r in records), stored.get, rows, out_topics,  # type: ignore[arg-type]
        settings, load_rules(), OnlineModels(), datetime.now(UTC),
    )  # fmt: skip
    alerts = [orjson.loads(value) for topic, _, value in batch.outputs.messages if topic == "alerts"]
    return Expected(
        states={key.decode(): orjson.loads(state_json(value)) for key, value in batch.outputs.states.items()},
        alerts={(a["alert_id"], a["version"]) for a in alerts},
        alert_values={(a["alert_id"], a["version"]): a for a in alerts},
        rows={table: len(keys) for table, keys in rows.keys.items()},
        outcomes=Counter(outcome for _, outcome in batch.counted),
    )


def worker_states(settings: Settings) -> dict[str, dict[str, Any]]:
    """The last value of every key in the state table's changelog."""
    topic = f"{settings.worker.app_id}-enterprise_state-changelog"
    states: dict[str, dict[str, Any]] = {}
    for msg in read_topic(settings.kafka.bootstrap_servers, topic, timeout=120):
        if msg.value() is not None:
            states[msg.key().decode()] = orjson.loads(state_json(msg.value()))
    return states


@dataclass
class AlertsSeen:
    versions: set[tuple[str, int]]
    messages: int
    conflicting: list[tuple[str, int]]  # the same (alert_id, version) with different contents

    @property
    def duplicates(self) -> int:
        return self.messages - len(self.versions)


def alerts_on_topic(settings: Settings) -> AlertsSeen:
    seen: dict[tuple[str, int], bytes] = {}
    conflicting: list[tuple[str, int]] = []
    messages = 0
    for msg in read_topic(settings.kafka.bootstrap_servers, settings.kafka.topics.alerts, timeout=120):
        messages += 1
        alert = orjson.loads(msg.value())
        key = (alert["alert_id"], alert["version"])
        if key in seen and seen[key] != msg.value():
            conflicting.append(key)
        seen.setdefault(key, msg.value())
    return AlertsSeen(set(seen), messages, conflicting)


# What depends on the order the records were applied in, not only on which were applied:
# scores (peers and forecasters learned across enterprises), the alert lifecycle (rules read
# the state before and after each event) and the window of recent event ids.
ORDER_FIELDS = frozenset({"scores", "open_alerts", "alert_episodes", "recent_event_ids"})


def state_differences(
    expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]], fields: str = "data"
) -> list[str]:
    """Enterprises whose states differ: ``fields="data"`` compares what the set of applied
    events decides (everything but :data:`ORDER_FIELDS`), ``"order"`` only those."""
    problems = []
    for uscc in sorted(set(expected) | set(actual)):
        want, got = expected.get(uscc), actual.get(uscc)
        if want is None or got is None:
            problems.append(f"{uscc}: {'missing in the worker' if got is None else 'not expected'}")
            continue
        keys = ORDER_FIELDS if fields == "order" else (set(want) | set(got)) - ORDER_FIELDS
        differ = sorted(k for k in keys if want.get(k) != got.get(k))
        if differ:
            problems.append(f"{uscc}: {', '.join(differ)} differ")
    return problems
