"""Connecting to ClickHouse through clickhouse-connect: embedded chDB or a server over HTTP.

chDB holds its data directory for one process, and its client is not safe to share between
threads without care, so :class:`Database` serializes every call with a lock.

An insert names its columns; clickhouse-connect then asks the table for their types
(``DESCRIBE TABLE``, a query of its own) unless it is given an insert context that knows
them, so :meth:`Database.insert_columns` keeps one context per table and column list
(the schema only changes in migrations, before the worker starts).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.insert import InsertContext

from config import ClickHouseSettings


def connect(settings: ClickHouseSettings, *, for_queries: bool = False) -> Client:
    """A client for the worker's user, or (``for_queries``) the read-only ad-hoc SQL user.

    Credentials come from settings (secrets), never from logs; a user and password in the
    URL are used when the settings name none.
    """
    if settings.embedded:
        return clickhouse_connect.get_client(dsn=settings.url)
    username, password = settings.username, settings.password
    if for_queries and settings.query_username:
        username, password = settings.query_username, settings.query_password
    credentials: dict[str, Any] = {}
    if username:
        credentials["username"] = username
        credentials["password"] = password.get_secret_value() if password is not None else ""
    return clickhouse_connect.get_client(dsn=settings.url, database="default", **credentials)


class Database:
    """A locked clickhouse-connect client bound to entbrain's database."""

    def __init__(self, settings: ClickHouseSettings, client: Client | None = None, *, create: bool = True) -> None:
        self.settings = settings
        self.name = settings.database
        self._client = client or connect(settings)
        self._lock = threading.Lock()
        self._inserts: dict[tuple[str, tuple[str, ...]], InsertContext] = {}
        if create:
            self._client.command(f"CREATE DATABASE IF NOT EXISTS {self.name}")
        self._client.database = self.name

    def command(self, sql: str) -> Any:
        with self._lock:
            return self._client.command(sql)

    def query(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Rows of ``sql``; values from outside go in ``parameters`` (``{name:Type}`` in the SQL)."""
        with self._lock:
            result = self._client.query(sql, parameters=parameters, settings=settings)
            return list(result.column_names), [tuple(r) for r in result.result_rows]

    def probe(self) -> None:
        """Raises unless ClickHouse answers a trivial query."""
        self.query("SELECT 1")

    def insert_columns(self, table: str, columns: Sequence[Sequence[Any]], names: Sequence[str]) -> None:
        key = (table, tuple(names))
        with self._lock:
            context = self._inserts.get(key)
            if context is None:
                context = self._client.create_insert_context(
                    f"{self.name}.{table}", column_names=list(names), column_oriented=True
                )
            context.data = [list(c) for c in columns]
            try:
                self._client.insert(context=context)
            finally:
                context.data = None  # keep no rows alive between inserts
            self._inserts[key] = context  # only once an insert through it succeeded

    def close(self) -> None:
        with self._lock:
            self._client.close()
