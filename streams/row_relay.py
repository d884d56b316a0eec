"""Embedded ClickHouse with several workers: rows handed to the worker that holds chDB.

chDB holds its directory for one process. With several workers on one machine and no
ClickHouse server, one worker holds it (the *owner*) and the others (*relays*) hand their
rows to it through the rows topic, a single partition, so one writer inserts them in the
order they were sent. For a relay, step 1 of the commit protocol (:mod:`streams.commit`)
is "the batch's rows produced to the rows topic and acknowledged by the broker": they are
durable there before any output or state of the batch, and the owner's writer
(:mod:`streams.row_writer`) inserts them into the idempotent tables and only then commits
its position on the topic. A relay that dies re-derives the same rows (ReplacingMergeTree
collapses them); an owner that dies leaves them on the topic until it is back.

:class:`RelayedDatabase` stands for the database in a relay: inserts go to the topic,
queries raise :class:`~streams.errors.DatabaseElsewhere` (the web server redirects them to
the owner). Values keep their Python types across the topic (:func:`encode_columns`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from config import ClickHouseSettings, KafkaSettings
from sinks import Database, SinkUnavailable
from streams.errors import DatabaseElsewhere
from streams.kafka_admin import make_producer

MAX_MESSAGE_BYTES = 900_000  # under the broker's default limit of 1 MiB per message
DELIVERY_SECONDS = 30.0


def _tagged(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$t": "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {"$t": "date", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$t": "decimal", "v": str(value)}
    if isinstance(value, bytes):
        return {"$t": "bytes", "v": value.hex()}
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot relay a {type(value).__name__}")


_UNTAG: dict[str, Callable[[str], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "decimal": Decimal,
    "bytes": bytes.fromhex,
}


def _untagged(value: Any) -> Any:
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    if isinstance(value, dict):
        tag = value.get("$t")
        if isinstance(tag, str) and tag in _UNTAG and len(value) == 2:
            return _UNTAG[tag](value["v"])
        return {k: _untagged(v) for k, v in value.items()}
    return value


def encode_columns(table: str, columns: Sequence[Sequence[Any]], names: Sequence[str]) -> list[bytes]:
    """Column-oriented rows as messages of at most :data:`MAX_MESSAGE_BYTES` each.

    >>> from datetime import UTC
    >>> cols = [["a", "b"], [datetime(2026, 3, 1, 8, 0, 0, 123000, tzinfo=UTC)] * 2, [Decimal("1.50"), None]]
    >>> [decode_columns(m) for m in encode_columns("t", cols, ["x", "at", "amount"])][0][1] == cols
    True
    """
    payload = orjson.dumps(
        {"table": table, "names": list(names), "columns": [list(c) for c in columns]},
        default=_tagged, option=orjson.OPT_PASSTHROUGH_DATETIME,
    )  # fmt: skip
    rows = len(columns[0]) if columns else 0
    if len(payload) <= MAX_MESSAGE_BYTES or rows <= 1:
        return [payload]
    half = rows // 2
    return encode_columns(table, [c[:half] for c in columns], names) + encode_columns(
        table, [c[half:] for c in columns], names
    )


def decode_columns(payload: bytes) -> tuple[str, list[list[Any]], list[str]]:
    """``(table, columns, names)`` of one message of :func:`encode_columns`."""
    body = orjson.loads(payload)
    return str(body["table"]), [_untagged(c) for c in body["columns"]], [str(n) for n in body["names"]]


class RelayedDatabase(Database):
    """The database of a relay worker: inserts go to the rows topic, queries to the owner."""

    def __init__(self, settings: ClickHouseSettings, kafka: KafkaSettings, owner_url: str) -> None:
        # No client: chDB is held by the owner's process.
        self.settings = settings
        self.name = settings.database
        self.owner_url = owner_url.rstrip("/")
        self.topic = kafka.topics.rows
        self._producer = make_producer(kafka)
        self._lock = threading.Lock()

    def command(self, sql: str) -> Any:
        raise DatabaseElsewhere(self.owner_url)

    def query(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        raise DatabaseElsewhere(self.owner_url)

    def probe(self) -> None:
        """The broker that carries the rows answers (the owner answers for ClickHouse)."""
        self._producer.list_topics(self.topic, timeout=5)

    def insert_columns(self, table: str, columns: Sequence[Sequence[Any]], names: Sequence[str]) -> None:
        """Produce the rows and wait until the broker acknowledged every message."""
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        with self._lock:
            for message in encode_columns(table, columns, names):
                self._producer.produce(self.topic, value=message, partition=0, on_delivery=delivered)
            left = self._producer.flush(DELIVERY_SECONDS)
        if left or failures:
            detail = (
                failures[0] if failures else f"{left} messages unacknowledged after {DELIVERY_SECONDS:.0f}s"
            )
            raise SinkUnavailable(f"relaying rows of {table} failed: {detail}", 1.0)

    def close(self) -> None:
        with self._lock:
            self._producer.flush(DELIVERY_SECONDS)
