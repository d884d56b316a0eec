"""Exceptions of the sinks package.

::

    SinkError
    ├── MigrationError        a migration failed; the worker stops, naming the file
    └── SinkUnavailable       ClickHouse cannot take writes now (carries ``retry_after``)
"""

from __future__ import annotations


class SinkError(Exception):
    """Root of the sinks package's exceptions."""


class MigrationError(SinkError):
    def __init__(self, name: str, statement: str, cause: BaseException) -> None:
        super().__init__(
            f"migration {name} failed at:\n{statement.strip()[:400]}\ncause: {cause}\n"
            "Fix the migration or the database, then start again; later migrations were not applied."
        )
        self.name = name


class SinkUnavailable(SinkError):
    """ClickHouse refused or failed a write; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
