"""The audit trail: one ``audit_log`` row per operator action (replay, rebuild, backtest).

Each row says who (the OS user; through the worker also the role of the token it
accepted), when, what, with which arguments, over which offsets or time range, and under
which rules and scoring versions. In embedded mode the worker owns the database, so the
CLI asks the worker (``POST /api/audit``, operator role) and opens chDB itself only when
no worker answers; against a ClickHouse server it writes directly.
"""

from __future__ import annotations

import getpass
import socket
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from config import Settings, load_scoring_config
from config.rules import default_rules
from sinks import Database, migrate

TABLE = "audit_log"
OPERATIONS = ("replay", "rebuild", "backtest_run", "backtest_diff")
OUTCOMES = ("done", "dry_run", "refused", "failed")
TEXT_FIELDS = ("actor", "host", "operation", "outcome", "arguments", "target_range", "app_id", "detail")
MAX_TEXT = 20_000


@dataclass(frozen=True)
class AuditEntry:
    operation: str
    outcome: str
    arguments: dict[str, Any]
    target_range: str
    app_id: str
    detail: str = ""
    actor: str = field(default_factory=lambda: _os_user())
    actor_kind: str = "os_user"
    host: str = field(default_factory=socket.gethostname)
    rules_version: str = field(default_factory=lambda: default_rules().version)
    scoring_version: str = field(default_factory=lambda: load_scoring_config().version)
    audit_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def body(self) -> dict[str, Any]:
        """The JSON the worker's ``/api/audit`` takes."""
        out = asdict(self)
        out["arguments"] = orjson.dumps(self.arguments, default=str).decode()
        out["at"] = self.at.isoformat()
        return out


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def row_from_body(body: dict[str, Any], role: str | None) -> dict[str, Any]:
    """A checked ``audit_log`` row from a request body; the worker adds the caller's role."""
    if body.get("operation") not in OPERATIONS:
        raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}")
    if body.get("outcome") not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    row: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, "audit_id", "rules_version", "scoring_version"):
        value = body.get(name, "")
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValueError(f"{name} must be a string of at most {MAX_TEXT} characters")
        row[name] = value
    row["audit_id"] = row["audit_id"] or uuid.uuid4().hex
    try:
        row["at"] = datetime.fromisoformat(str(body.get("at", ""))).astimezone(UTC)
    except ValueError:
        row["at"] = datetime.now(UTC)
    row["actor_kind"] = f"token:{role}" if role else str(body.get("actor_kind", "os_user"))[:64]
    return row


def insert(db: Database, row: dict[str, Any]) -> None:
    names = list(row)
    db.insert_columns(TABLE, [[row[n]] for n in names], names)


def record(settings: Settings, entry: AuditEntry) -> str:
    """Write ``entry``; returns where it went (``worker`` or ``clickhouse``)."""
    body = entry.body()
    if settings.clickhouse.embedded:
        from streams.cli import worker_request

        if worker_request(settings, "/api/audit", body, timeout=30) is not None:
            return "worker"
    row = row_from_body(body, None)
    db = Database(settings.clickhouse)
    try:
        migrate(db)
        insert(db, row)
    finally:
        db.close()
    return "clickhouse"
