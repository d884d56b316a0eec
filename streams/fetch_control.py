"""Pausing and resuming the fetching of input partitions without losing a record.

faust's ``Consumer.pause_partitions`` only takes a partition out of its active set: records
of that partition already fetched (the Kafka client's position moved past them) and still
being handed to the stream are then dropped — a gap the worker would have to detect and
read again. Pausing in the Kafka client itself (aiokafka) is what the back-pressure of the
event-time merge needs: the client discards what it had buffered for a paused partition
*without* moving its position, so those records are fetched again after the resume, and
what faust already took goes on to the stream. Both calls run on the client's own thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka.structs import OffsetAndMetadata, TopicPartition


def _client_parts(consumer: Any, tps: Iterable[Any]) -> tuple[Any, Any, list[TopicPartition]]:
    thread = consumer._thread
    return thread, thread._ensure_consumer(), [TopicPartition(tp.topic, tp.partition) for tp in tps]


async def pause_fetching(consumer: Any, tps: Iterable[Any]) -> None:
    thread, client, parts = _client_parts(consumer, tps)
    if parts:
        await thread.call_thread(lambda: client.pause(*parts))


async def resume_fetching(consumer: Any, tps: Iterable[Any]) -> None:
    thread, client, parts = _client_parts(consumer, tps)
    assigned = client.assignment()
    parts = [tp for tp in parts if tp in assigned]  # a revoked partition is no longer the client's
    if parts:
        await thread.call_thread(lambda: client.resume(*parts))


async def seek_fetching(consumer: Any, tp: Any, offset: int) -> None:
    """Move the client's position of ``tp`` to ``offset``, on the client's thread.

    faust's ``Consumer.seek`` calls the client from the event loop's thread; the client then
    wakes its fetcher through a future of its own thread's loop, which a foreign thread
    cannot wake — the partition may never be fetched again. The read offset faust keeps
    (below it, it drops records) moves back with it.
    """
    thread, client, parts = _client_parts(consumer, [tp])
    await thread.call_thread(lambda: client.seek(parts[0], offset))
    consumer._read_offset[tp] = offset


def client_view(consumer: Any, tp: Any) -> str:
    """What the Kafka client itself holds for ``tp``: its position, pause and buffered fetch (for logs).

    Read from the event loop's thread without a lock: good enough to explain a stall, not to act on.
    """
    try:
        thread = consumer._thread
        client = thread._ensure_consumer()
        part = TopicPartition(tp.topic, tp.partition)
        assignment = (
            client._subscription.subscription.assignment if client._subscription.subscription else None
        )
        if assignment is None or part not in assignment.tps:
            return "client: not assigned"
        state = assignment.state_value(part)
        position = state.position if state.has_valid_position else None
        fetcher = client._fetcher
        buffered = fetcher._records.get(part) if fetcher is not None else None
        return (f"client: position {position}, paused {state.paused}, awaiting reset {state.awaiting_reset}, "
                f"buffered {type(buffered).__name__ if buffered is not None else None}, "
                f"fetches in flight {len(fetcher._in_flight) if fetcher is not None else 0}")  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a log line must not fail the caller
        return f"client: unreadable ({type(exc).__name__})"


async def commit_positions(consumer: Any, offsets: dict[Any, int]) -> dict[Any, int]:
    """Commit ``offsets`` (faust TP → next offset to read) of the partitions still assigned,
    on the client's thread; faust's own view of the committed offsets follows. Returns what
    was committed (a partition revoked meanwhile is left to its new owner)."""
    thread, client, _ = _client_parts(consumer, [])
    assigned = client.assignment()
    mine = {tp: offset for tp, offset in offsets.items() if TopicPartition(tp.topic, tp.partition) in assigned}
    if mine:
        parts = {TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(offset, "") for tp, offset in mine.items()}
        await thread.call_thread(lambda: client.commit(parts))
        consumer._committed_offset.update(mine)
    return mine
