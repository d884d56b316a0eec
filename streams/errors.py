"""Exceptions of the streams package (worker, CLI, local broker).

::

    StreamsError
    ├── BrokerError            the local Kafka broker could not be fetched, formatted or started
    ├── WorkerUnavailable      no worker answers on the configured web address
    ├── DatabaseElsewhere      embedded ClickHouse is held by another worker (its URL attached)
    └── CliError               something a user can fix; one line on stderr, exit code 2
        ├── QueryRejected      ad-hoc SQL that is not one read-only SELECT without table functions
        ├── QueryFailed        ClickHouse could not run an accepted query (syntax, unknown table, limit)
        └── AccessDenied       the worker refused the credential (HTTP 401 / 403)
"""

from __future__ import annotations


class StreamsError(Exception):
    """Root of the streams package's exceptions."""


class BrokerError(StreamsError):
    """The local broker failed; the message says what to check."""


class WorkerUnavailable(StreamsError):
    """No worker is listening; the caller may fall back to opening ClickHouse itself."""


class DatabaseElsewhere(StreamsError):
    """This worker relays its rows; ClickHouse (chDB) is held by the worker at ``owner_url``."""

    def __init__(self, owner_url: str) -> None:
        super().__init__(f"ClickHouse is held by the worker at {owner_url}; ask it")
        self.owner_url = owner_url


class CliError(StreamsError):
    """Bad CLI input; printed without a traceback and exits non-zero."""


class QueryRejected(CliError):
    """The SQL was refused before it ran: it is not a single read-only SELECT, or it reaches
    outside the database (table functions, dictionaries, files, hosts)."""


class QueryFailed(CliError):
    """ClickHouse refused or failed the query (bad SQL, unknown table, a result limit)."""


class AccessDenied(CliError):
    """The worker answered 401 or 403: set ``ENTBRAIN_AUTH__CLIENT_TOKEN`` to a token of the right role."""
