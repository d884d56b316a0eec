"""One input batch through the pure pipeline, into what :func:`streams.commit.commit_batch` stores.

:func:`process_batch` reads each enterprise's state once (from the table, or from earlier
in the same batch), runs :func:`streams.pipeline.process_message` on every record in the
order the aligner released them, adds the rows to the sink (one ``enterprise_snapshot``
row per enterprise, from the state it ends the batch with) and collects the output
messages and the states to write. It decides nothing itself and has no side effect but
``sink.add``, so a crash anywhere before the commit leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from config import Settings
from config.rules import RuleConfig
from detectors.models import OnlineModels
from detectors.verdicts import VerdictCalibration
from schemas import EnterpriseState
from schemas.state_codec import StateCache
from sinks import ClickHouseSink
from sinks.rows import snapshot_row
from streams.alignment import Key
from streams.commit import BatchOutputs
from streams.model_feed import encode as encode_learning
from streams.pipeline import RawMessage, process_message


@dataclass(frozen=True)
class OutputTopics:
    """The output topics, as whatever handle the caller sends with."""

    scores: Any
    alerts: Any
    lists: Any
    deadletter: Any
    # The identity table's compacted topic and the resolver's input (legacy-keyed events, keyed
    # by identifier); a run without a resolver (a backtest) leaves them out.
    identities: Any = None
    resolve: Any = None


@dataclass(frozen=True)
class FeedLink:
    """The group's model feed (:mod:`streams.model_feed`): where the batch's learning goes,
    and the other workers' learning taken before each record at its place in the merge."""

    topic: Any
    worker: str
    order: Callable[[RawMessage], Key]
    learn_before: Callable[[Key], int]


@dataclass
class ProcessedBatch:
    outputs: BatchOutputs = field(default_factory=BatchOutputs)
    counted: list[tuple[str, str]] = field(default_factory=list)  # (topic, outcome)
    alert_values: list[bytes] = field(default_factory=list)
    alert_states: list[str] = field(default_factory=list)


def process_batch(
    records: Iterable[tuple[RawMessage, Any]],
    load_state: Callable[[bytes], bytes | None],
    sink: ClickHouseSink,
    topics: OutputTopics,
    settings: Settings,
    rules: RuleConfig,
    models: OnlineModels,
    now: datetime,
    verdicts: VerdictCalibration | None = None,
    feed: FeedLink | None = None,
    cache: StateCache | None = None,
) -> ProcessedBatch:
    """Run every ``(message, event)`` of the batch; ``event`` is only carried to the outputs.

    ``cache`` keeps the decoded states between batches (without one, each batch decodes
    every state it reads)."""
    batch = ProcessedBatch()
    cache = cache or StateCache(0)
    out = batch.outputs
    touched: dict[str, EnterpriseState] = {}
    changed: dict[str, None] = {}  # enterprises with an applied event, in the order first applied
    keep_ids = settings.worker.recent_event_ids
    for msg, event in records:
        out.events.append(event)
        uscc = msg.key.decode("utf-8", errors="replace") if msg.key else None
        state = touched.get(uscc) if uscc else None
        if state is None and uscc:
            table_key = uscc.encode()
            stored = load_state(table_key)
            state = cache.decode(table_key, stored) if stored else None
        # Time is the record's own (its Kafka timestamp), so a re-read derives the same outputs.
        at = datetime.fromtimestamp(msg.timestamp, UTC) if msg.timestamp else now
        place = None
        if feed is not None:
            place = feed.order(msg)
            feed.learn_before(place)
        outcome = process_message(msg, state, at, keep_ids, rules, models, verdicts)
        batch.counted.append((msg.topic, outcome.status))
        if outcome.dead_letter is not None:
            out.messages.append((topics.deadletter, msg.key, outcome.dead_letter.model_dump_json().encode()))
        if outcome.unresolved is not None and topics.resolve is not None:
            unresolved = outcome.unresolved
            out.messages.append((topics.resolve, unresolved.identifier.encode(), unresolved.model_dump_json().encode()))
        for identity in outcome.identities if topics.identities is not None else ():
            out.messages.append((topics.identities, identity.identifier.encode(), identity.model_dump_json().encode()))
        if outcome.state is not None and outcome.uscc is not None:
            touched[outcome.uscc] = outcome.state
        key = outcome.uscc.encode() if outcome.uscc is not None else None
        if outcome.score is not None:
            out.messages.append((topics.scores, key, outcome.score.model_dump_json().encode()))
        if outcome.learning is not None and feed is not None and place is not None:
            out.messages.append((feed.topic, key, encode_learning(outcome.learning, feed.worker, place)))
        for change in outcome.list_changes:
            out.messages.append((topics.lists, change.uscc.encode(), change.model_dump_json().encode()))
        for notice in outcome.notices:  # delivered like alerts to subscriptions that ask for list changes
            out.messages.append((topics.alerts, notice.uscc.encode(), notice.model_dump_json().encode()))
        for alert in outcome.alerts:
            value = alert.model_dump_json().encode()
            batch.alert_values.append(value)
            batch.alert_states.append(alert.state.value)
            out.messages.append((topics.alerts, alert.uscc.encode(), value))
        if outcome.status == "applied" and outcome.uscc is not None:
            changed[outcome.uscc] = None
        for table, row in outcome.rows:
            sink.add(table, row)
    # The latest state of each enterprise, once: a duplicate after the last applied event
    # changes nothing a snapshot row holds.
    for uscc in changed:
        sink.add("enterprise_snapshot", snapshot_row(touched[uscc]))
    out.states = {k: cache.encode(k, state) for k, state in ((u.encode(), s) for u, s in touched.items())}
    return batch
