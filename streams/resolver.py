"""The resolver: legacy-keyed events re-keyed by USCC, or parked until their identity is known.

The main agent forwards an event that names its enterprise by a legacy identifier to
``enterprise.resolve``, keyed by the identifier it is routed by
(:func:`schemas.identifiers.routing_identifier`). The identity table's topic
``enterprise.identities`` is keyed the same way and has as many partitions, so one worker
holds, for each identifier, both its events and its mapping: the resolver's table
(:class:`~schemas.identity.IdentityEntry` per identifier) stays partition-local — the
repartition pattern of Kafka Streams.

* An unresolved event whose identifier is known is **resolved**: re-produced, with its
  ``uscc``, onto the input topic it came from, keyed by the USCC (so it lands on the
  enterprise's partition and is applied there like any other event).
* Otherwise it is **parked**: kept in the entry, announced on ``enterprise.unmatched`` and
  stored in ``unmatched_events`` with the reason.
* An identity record stores the mapping and **releases** the entry's parked events, in
  business-time order, the same way as a resolved one.

:func:`resolve_batch` is pure: it returns what :func:`streams.commit.commit_batch` makes
durable (rows → re-keyed and parked messages acknowledged → entries → offsets), so a crash
re-derives the same messages (the state drops a re-applied ``event_id`` as a duplicate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.decode import with_uscc
from schemas.identity import IdentityEntry, IdentityRecord, ParkedEvent, UnresolvedEvent
from sinks.library_rows import identity_row, unmatched_row
from sinks.rows import Row
from streams.commit import BatchOutputs


@dataclass
class ResolverStep:
    """What one resolver input produced."""

    entry: IdentityEntry
    rekeyed: list[tuple[str, str, bytes]] = field(default_factory=list)  # (input topic, uscc, value)
    parked: ParkedEvent | None = None
    rows: list[tuple[str, Row]] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)


def on_unresolved(entry: IdentityEntry, event: UnresolvedEvent, now: datetime) -> ResolverStep:
    if entry.uscc is not None:
        value = with_uscc(orjson.loads(event.payload), entry.uscc, event.named)
        return ResolverStep(entry, rekeyed=[(event.topic, entry.uscc, value)], outcomes=["resolved"])
    if any(p.event_id == event.event_id for p in entry.parked):
        return ResolverStep(entry, outcomes=["duplicate"])  # parked already (re-sent, or re-derived after a crash)
    parked = ParkedEvent(**event.model_dump(), parked_at=now)
    kept = entry.model_copy(update={"parked": [*entry.parked, parked]})
    return ResolverStep(kept, parked=parked, rows=[("unmatched_events", unmatched_row(parked))], outcomes=["parked"])


def on_identity(entry: IdentityEntry, record: IdentityRecord, now: datetime) -> ResolverStep:
    """Store the mapping; release what was parked on it, oldest business time first."""
    learned = IdentityEntry(uscc=record.uscc, learned_at=record.learned_at)
    step = ResolverStep(learned, rows=[("identities", identity_row(record))], outcomes=["learned"])
    for parked in sorted(entry.parked, key=lambda p: (p.occurred_at, p.origin)):
        step.rekeyed.append((parked.topic, record.uscc, with_uscc(orjson.loads(parked.payload), record.uscc, parked.named)))
        step.rows.append(("unmatched_events", unmatched_row(parked, record.uscc, now)))
        step.outcomes.append("released")
    return step


@dataclass(frozen=True)
class ResolverTopics:
    """Where the resolver's outputs go (whatever handle the caller sends with)."""

    unmatched: Any
    inputs: Callable[[str], Any]  # input topic name → handle


@dataclass
class ResolvedBatch:
    outputs: BatchOutputs = field(default_factory=BatchOutputs)
    outcomes: list[str] = field(default_factory=list)
    malformed: int = 0


def resolve_batch(
    records: Iterable[tuple[str, bytes | None, bytes | None, Any]],
    load_entry: Callable[[bytes], bytes | None],
    add_row: Callable[[str, Row], None],
    identities_topic: str,
    topics: ResolverTopics,
    now_of: Callable[[Any], datetime],
) -> ResolvedBatch:
    """Run ``(topic, key, value, event)`` records of the resolver's two inputs, in order."""
    batch = ResolvedBatch()
    entries: dict[bytes, IdentityEntry] = {}
    for topic, key, value, event in records:
        batch.outputs.events.append(event)
        if key is None or value is None:
            batch.malformed += 1  # a tombstone or a keyless record: nothing to resolve
            continue
        entry = entries.get(key)
        if entry is None:
            stored = load_entry(key)
            entry = IdentityEntry.model_validate_json(stored) if stored else IdentityEntry()
        try:
            if topic == identities_topic:
                step = on_identity(entry, IdentityRecord.model_validate_json(value), now_of(event))
            else:
                step = on_unresolved(entry, UnresolvedEvent.model_validate_json(value), now_of(event))
        except ValidationError:
            batch.malformed += 1  # written by entbrain only; a foreign record is skipped, not fatal
            continue
        entries[key] = step.entry
        for table, row in step.rows:
            add_row(table, row)
        for input_topic, uscc, rekeyed in step.rekeyed:
            batch.outputs.messages.append((topics.inputs(input_topic), uscc.encode(), rekeyed))
        if step.parked is not None:
            batch.outputs.messages.append((topics.unmatched, key, step.parked.model_dump_json().encode()))
        batch.outcomes.extend(step.outcomes)
    batch.outputs.states = {key: entry.model_dump_json().encode() for key, entry in entries.items()}
    return batch
