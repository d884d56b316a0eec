"""The owner's side of :mod:`streams.row_relay`: insert the rows other workers relayed.

A thread with its own confluent-kafka consumer (group ``<app id>.rows``) reads the rows
topic, inserts each message's rows into chDB through the worker's :class:`~sinks.Database`
(consecutive messages of one table in one insert) and commits its position only after the
inserts succeeded. A failing insert is retried with backoff; the position does not move.
Inserted twice (a crash before the commit), rows collapse in their ReplacingMergeTree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError

from config import Settings
from sinks import Database
from streams.kafka_security import confluent_config
from streams.row_relay import decode_columns

log = logging.getLogger(__name__)

MAX_MESSAGES = 200
RETRY_MAX_SECONDS = 30.0


def group_inserts(payloads: list[bytes]) -> list[tuple[str, list[list[Any]], list[str]]]:
    """Consecutive messages of the same table and columns joined into one insert, in order."""
    inserts: list[tuple[str, list[list[Any]], list[str]]] = []
    for payload in payloads:
        table, columns, names = decode_columns(payload)
        if inserts and inserts[-1][0] == table and inserts[-1][2] == names:
            for into, more in zip(inserts[-1][1], columns, strict=True):
                into.extend(more)
        else:
            inserts.append((table, columns, names))
    return inserts


class RelayedRowsWriter:
    """Runs in the owner of chDB while the worker runs (:meth:`start`, :meth:`stop`)."""

    def __init__(
        self, settings: Settings, db: Database, sleep: Callable[[float], bool] | None = None
    ) -> None:
        self.settings = settings
        self.db = db
        self.rows_written = 0
        self.failures = 0
        self._stopped = threading.Event()
        self._sleep = sleep or self._stopped.wait
        self._thread = threading.Thread(target=self._run, name="relayed-rows", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _consumer(self) -> Consumer:
        consumer = Consumer({
            **confluent_config(self.settings.kafka),
            "group.id": f"{self.settings.worker.app_id}.rows",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        })  # fmt: skip
        consumer.subscribe([self.settings.kafka.topics.rows])
        return consumer

    def _run(self) -> None:
        consumer = self._consumer()
        try:
            while not self._stopped.is_set():
                messages = consumer.consume(MAX_MESSAGES, 0.5)
                payloads = []
                for msg in messages:
                    error = msg.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            log.warning("reading relayed rows: %s", error)
                        continue
                    value = msg.value()
                    if value is not None:
                        payloads.append(value)
                if payloads and self._insert(group_inserts(payloads)):
                    consumer.commit(asynchronous=False)
        except Exception:
            log.exception("the relayed rows writer stopped")
            raise
        finally:
            consumer.close()

    def _insert(self, inserts: list[tuple[str, list[list[Any]], list[str]]]) -> bool:
        """Insert all, retrying each until it succeeds; False if stopped first."""
        for table, columns, names in inserts:
            delay = 0.5
            while True:
                try:
                    self.db.insert_columns(table, columns, names)
                    break
                except Exception as exc:  # noqa: BLE001 - every driver error is retried
                    self.failures += 1
                    log.warning(
                        "inserting relayed rows into %s failed: %s; retrying in %.1fs", table, exc, delay
                    )
                    if self._sleep(delay):
                        return False
                    delay = min(delay * 2, RETRY_MAX_SECONDS)
            self.rows_written += len(columns[0]) if columns else 0
        return True
