"""Read-only SQL for ``entbrain query`` and ``/api/query``."""

from __future__ import annotations

from typing import Any

from sinks import Database
from streams.errors import CliError

READ_PREFIXES = ("select", "with", "show", "describe", "desc", "explain", "exists")


class QueryRejected(CliError):
    """The SQL is not a read-only statement."""


def run_query(db: Database, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise QueryRejected("empty SQL")
    if not text.lower().startswith(READ_PREFIXES):
        raise QueryRejected("only read queries (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN) are allowed")
    if ";" in text:
        raise QueryRejected("one statement at a time")
    return db.query(text)
