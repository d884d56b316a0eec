"""Exceptions of the sinks package.

::

    SinkError
    ├── MigrationError        a migration failed; the worker stops, naming the file
    ├── SinkUnavailable       ClickHouse cannot take writes now (carries ``retry_after``)
    └── DeliveryError         a notification was not accepted by its receiver
        └── RetryableDelivery a timeout, a connection error, 5xx or 429: worth trying again
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


class DeliveryError(SinkError):
    """The receiver did not accept the notification; ``status`` is its HTTP code (0: none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class RetryableDelivery(DeliveryError):
    """Worth another attempt; ``retry_after`` is the receiver's own ``Retry-After``, if any."""

    def __init__(self, message: str, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after
