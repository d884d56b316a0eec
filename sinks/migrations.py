"""Versioned, idempotent migrations from ``schemas/clickhouse/NNN_name.sql``.

Each file is applied once, in order, statement by statement, and recorded in
``schema_migrations`` with its checksum. Statements are written to be idempotent
(``IF NOT EXISTS`` / ``OR REPLACE``), so a file interrupted half-way is safe to apply again.
A failing statement raises :class:`MigrationError` naming the file; later files are not run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from config import REPO_ROOT
from sinks.clickhouse import Database
from sinks.errors import MigrationError

MIGRATIONS_DIR = REPO_ROOT / "schemas" / "clickhouse"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    def statements(self, database: str) -> list[str]:
        body = "\n".join(
            line for line in self.sql.splitlines() if not line.strip().startswith("--")
        ).replace("{db}", database)
        return [s.strip() for s in body.split(";") if s.strip()]


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), path.name, path.read_text(encoding="utf-8")))
    return found


def applied_versions(db: Database) -> set[int]:
    _, rows = db.query(f"SELECT version FROM {db.name}.schema_migrations")
    return {int(r[0]) for r in rows}


def migrate(db: Database, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration; return the names applied now."""
    db.command(f"CREATE DATABASE IF NOT EXISTS {db.name}")
    db.command(
        f"CREATE TABLE IF NOT EXISTS {db.name}.schema_migrations "
        "(version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = applied_versions(db)
    applied = []
    for migration in discover(directory):
        if migration.version in done:
            continue
        for statement in migration.statements(db.name):
            try:
                db.command(statement)
            except Exception as exc:  # noqa: BLE001 - any driver error stops the run
                raise MigrationError(migration.name, statement, exc) from exc
        db.insert_columns(
            "schema_migrations",
            [[migration.version], [migration.name], [migration.checksum]],
            ["version", "name", "checksum"],
        )
        applied.append(migration.name)
    return applied
