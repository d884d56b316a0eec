"""Migrations against the real ClickHouse engine (chDB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ClickHouseSettings
from sinks import Database, MigrationError, discover, migrate


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(ClickHouseSettings(url=f"chdb://{tmp_path / 'ch'}", database="mig"))


def test_from_empty_every_table_and_view_exists(db: Database) -> None:
    applied = migrate(db)
    assert applied == [m.name for m in discover()]
    _, rows = db.query("SHOW TABLES")
    names = {r[0] for r in rows}
    expected = {"events", "dead_letters", "enterprise_snapshot", "scores", "alerts", "alert_events",
                "schema_migrations", "v_tier_pyramid", "v_alerts_daily", "v_industry_gradient",
                "v_district_summary", "v_source_freshness"}  # fmt: skip
    assert expected <= names
    for view in sorted(n for n in names if n.startswith("v_")):
        db.query(f"SELECT * FROM {view}")  # every view is readable on empty tables


def test_reapplying_on_a_migrated_database_changes_nothing(db: Database) -> None:
    migrate(db)
    assert migrate(db) == []
    _, rows = db.query("SELECT version, count() FROM schema_migrations FINAL GROUP BY version ORDER BY version")
    assert all(count == 1 for _, count in rows)
    assert [v for v, _ in rows] == [m.version for m in discover()]


def test_a_failing_migration_stops_with_its_name_and_is_not_recorded(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_ok.sql").write_text("CREATE TABLE IF NOT EXISTS {db}.a (x UInt8) ENGINE = MergeTree ORDER BY x;")
    (folder / "002_broken.sql").write_text("CREATE TABLE {db}.b (x NoSuchType) ENGINE = MergeTree ORDER BY x;")
    (folder / "003_later.sql").write_text("CREATE TABLE IF NOT EXISTS {db}.c (x UInt8) ENGINE = MergeTree ORDER BY x;")
    with pytest.raises(MigrationError, match="002_broken.sql"):
        migrate(db, folder)
    _, rows = db.query("SELECT name FROM schema_migrations FINAL ORDER BY version")
    assert rows == [("001_ok.sql",)]
    _, tables = db.query("SHOW TABLES")
    assert "c" not in {t[0] for t in tables}
    (folder / "002_broken.sql").write_text("CREATE TABLE IF NOT EXISTS {db}.b (x UInt8) ENGINE = MergeTree ORDER BY x;")
    assert migrate(db, folder) == ["002_broken.sql", "003_later.sql"]
