"""The batched sink against the real engine: column-oriented writes, retry until ClickHouse is back."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import ClickHouseSettings, SinkSettings
from sinks import ClickHouseSink, Database, migrate


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(ClickHouseSettings(url=f"chdb://{tmp_path / 'ch'}", database="sinktest"))
    migrate(database)
    return database


def letter(offset: int) -> dict[str, object]:
    return {"topic": "t", "partition": 0, "offset": offset, "key": None, "original": "eA==",
            "reason": "bad", "reasons": "[]", "error_type": "json", "received_at": datetime.now(UTC)}  # fmt: skip


def test_rows_are_buffered_until_flush_and_replays_collapse(db: Database) -> None:
    sink = ClickHouseSink(db, SinkSettings())
    for i in range(100):
        sink.add("dead_letters", letter(i))
    assert db.query("SELECT count() FROM dead_letters")[1] == [(0,)]
    assert sink.flush() == 100
    for i in range(50):  # the same offsets again: a replay
        sink.add("dead_letters", letter(i))
    sink.flush()
    assert db.query("SELECT count() FROM dead_letters FINAL")[1] == [(100,)]


def test_flush_waits_while_inserts_fail_and_loses_nothing(db: Database) -> None:
    """The table is detached (inserts fail for real) and re-attached while flush retries."""
    sleeps: list[float] = []
    sink = ClickHouseSink(
        db, SinkSettings(retry_initial_seconds=0.05, retry_max_seconds=0.2),
        sleep=lambda s: (sleeps.append(s), time.sleep(s))[1],  # type: ignore[func-returns-value]
    )  # fmt: skip
    for i in range(1000):
        sink.add("dead_letters", letter(i))
    db.command("DETACH TABLE sinktest.dead_letters")
    reattach = threading.Timer(0.8, lambda: db.command("ATTACH TABLE sinktest.dead_letters"))
    reattach.start()
    assert sink.flush() == 1000
    reattach.join()
    assert sink.write_failures >= 2
    assert sleeps[:3] == [0.05, 0.1, 0.2]  # exponential backoff, capped
    assert db.query("SELECT count(), uniqExact(offset) FROM dead_letters FINAL")[1] == [(1000, 1000)]
    assert sink.pending() == 0
