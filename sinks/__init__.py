"""Where entbrain's results go: ClickHouse (embedded chDB or a server) and alert channels.

Imports only :mod:`schemas` and :mod:`config`. :func:`migrate` applies the DDL in
``schemas/clickhouse``; :class:`ClickHouseSink` buffers rows and writes them with retries.
"""

from sinks.clickhouse import Database, connect
from sinks.errors import MigrationError, SinkError, SinkUnavailable
from sinks.migrations import discover, migrate
from sinks.writer import ClickHouseSink

__all__ = [
    "ClickHouseSink",
    "Database",
    "MigrationError",
    "SinkError",
    "SinkUnavailable",
    "connect",
    "discover",
    "migrate",
]
