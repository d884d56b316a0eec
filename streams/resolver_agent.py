"""The resolver's agent: ``enterprise.resolve`` + ``enterprise.identities`` → :func:`resolve_batch` → commit.

It shares the main agent's lock (one batch at a time in the worker: the ClickHouse sink's
buffer is shared) and its commit protocol (:func:`streams.commit.commit_batch`), with the
resolver's table in place of the enterprise states and no model checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import faust

from streams.commit import CommitPorts, Failpoint, commit_batch
from streams.producer_metadata import flush_knowing_changelogs
from streams.resolver import ResolverTopics, resolve_batch

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger(__name__)
QUIESCED_POLL_SECONDS = 0.05


def register_resolver(
    app: faust.App, runtime: Runtime, lock: asyncio.Lock, flush_rows: Callable[[], Awaitable[int]],
    quiesced: asyncio.Event,
) -> Any:
    """``quiesced``: set while a rebalance or a stop is under way — no batch starts (see streams.app.WorkerApp)."""
    settings = runtime.settings
    kafka, names = settings.kafka, settings.kafka.topics
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    sources = app.topic(names.resolve, names.identities, partitions=kafka.partitions, **raw)
    handles = {name: app.topic(name, partitions=kafka.partitions, **raw) for name in names.inputs()}
    topics = ResolverTopics(unmatched=app.topic(names.unmatched, partitions=kafka.partitions, **raw),
                            inputs=handles.__getitem__)  # fmt: skip
    entries = app.Table(
        "identity_resolver", default=None, partitions=kafka.partitions, key_type=bytes, value_type=bytes,
        use_partitioner=True,
    )  # fmt: skip
    streams_by_event: dict[int, Any] = {}

    async def _send(topic: Any, key: bytes | None, value: bytes) -> Any:
        return await topic.send(key=key, value=value)

    async def _ack(event: Any) -> None:
        stream = streams_by_event.pop(id(event), None)
        if stream is not None:
            await stream.ack(event)

    async def _no_models(_: bytes | None) -> None:
        return None

    ports = CommitPorts(
        flush_rows=flush_rows, send=_send, flush_producer=lambda: flush_knowing_changelogs(app),
        write_state=entries.__setitem__, snapshot_models=lambda: None, save_models=_no_models,
        ack=_ack, commit_offsets=lambda: app.consumer.commit(),
    )  # fmt: skip

    def _now(event: Any) -> datetime:
        stamp = event.message.timestamp
        return datetime.fromtimestamp(stamp, UTC) if stamp else datetime.now(UTC)

    @app.agent(sources, name="identity_resolver_agent")
    async def resolve_identities(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.noack_take(settings.sink.batch_max_events, within=settings.sink.batch_max_seconds):  # type: ignore[attr-defined]
            await _resolve(stream, events)

    async def _resolve(stream: Any, events: list[Any]) -> None:
        """Resolve one batch once the tables are ready: held, not dropped, while ``quiesced`` is set.

        faust no longer clears the resolver's queue on a resume (streams.input_guards), so a
        batch dropped here would not come again; one taken twice is harmless (idempotent).
        """
        while True:
            while quiesced.is_set():
                await asyncio.sleep(QUIESCED_POLL_SECONDS)
            async with lock:
                if quiesced.is_set():
                    continue
                for event in events:
                    streams_by_event[id(event)] = stream
                batch = resolve_batch(
                    ((e.message.topic, e.message.key, e.message.value, e) for e in events),
                    entries.get, runtime.sink.add, names.identities, topics, _now,
                )  # fmt: skip
                if batch.malformed:
                    log.warning("resolver skipped %d records it could not read", batch.malformed)
                await commit_batch(batch.outputs, ports, Failpoint(), 0)
                for outcome in batch.outcomes:
                    runtime.metrics.resolver(outcome)
                return

    return resolve_identities
