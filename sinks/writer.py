"""The ClickHouse sink: ``add`` rows, ``flush`` them at a checkpoint, ``write`` does the I/O.

Rows are buffered per table and written column-oriented. ``flush`` retries a failing write
with exponential backoff until it succeeds: the caller (the worker's agent) is blocked
meanwhile, so consumption pauses instead of rows being dropped or buffered without bound.
The caller acknowledges its input only after ``flush`` returned, so offsets move only once
the rows they produced are in ClickHouse.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable

from config import SinkSettings
from sinks.clickhouse import Database
from sinks.errors import SinkUnavailable
from sinks.rows import Row

log = logging.getLogger(__name__)


class ClickHouseSink:
    def __init__(
        self,
        db: Database,
        settings: SinkSettings,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.settings = settings
        self._sleep = sleep
        self._buffers: dict[str, list[Row]] = defaultdict(list)
        self.rows_written = 0
        self.write_failures = 0

    def add(self, table: str, row: Row) -> None:
        self._buffers[table].append(row)

    def pending(self) -> int:
        return sum(len(rows) for rows in self._buffers.values())

    def write(self, table: str, rows: list[Row]) -> None:
        """One column-oriented insert; raises :class:`SinkUnavailable` on failure."""
        names = list(rows[0])
        columns = [[row[name] for row in rows] for name in names]
        try:
            self.db.insert_columns(table, columns, names)
        except Exception as exc:  # noqa: BLE001 - every driver/transport error is retried
            raise SinkUnavailable(f"insert into {table} failed: {exc}", self.settings.retry_initial_seconds) from exc

    def flush(self) -> int:
        """Write every buffered row, retrying until ClickHouse takes them; return rows written."""
        written = 0
        for table in list(self._buffers):
            rows = self._buffers[table]
            if not rows:
                continue
            delay = self.settings.retry_initial_seconds
            while True:
                try:
                    self.write(table, rows)
                    break
                except SinkUnavailable as exc:
                    self.write_failures += 1
                    log.warning("%s; retrying in %.1fs", exc, delay)
                    self._sleep(delay)
                    delay = min(delay * 2, self.settings.retry_max_seconds)
            written += len(rows)
            self._buffers[table] = []
        self.rows_written += written
        return written
