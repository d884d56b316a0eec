"""Fault injection for the fault suite (testing only, off by default).

``ENTBRAIN_WORKER__INSERT_OUTAGE_SECONDS=N`` makes every ClickHouse insert fail for the
first N seconds after the worker's first insert: the sink retries with backoff, the
batch is not committed, consumption pauses — and nothing may be lost or skipped.
The commit-protocol failpoints live with the protocol (:mod:`streams.commit`).
"""

from __future__ import annotations

import time

from config import SinkSettings
from sinks import ClickHouseSink, Database, SinkUnavailable
from sinks.rows import Row


class InsertOutageSink(ClickHouseSink):
    """A sink whose inserts fail during an outage window that opens at the first insert."""

    def __init__(self, db: Database, settings: SinkSettings, outage_seconds: float) -> None:
        super().__init__(db, settings)
        self.outage_seconds = outage_seconds
        self.outage_started: float | None = None

    def write(self, table: str, rows: list[Row]) -> None:
        now = time.monotonic()
        if self.outage_started is None:
            self.outage_started = now
        if now - self.outage_started < self.outage_seconds:
            raise SinkUnavailable(f"insert into {table} failed: injected outage", self.settings.retry_initial_seconds)
        super().write(table, rows)


def make_sink(db: Database, settings: SinkSettings, outage_seconds: float) -> ClickHouseSink:
    return InsertOutageSink(db, settings, outage_seconds) if outage_seconds > 0 else ClickHouseSink(db, settings)
