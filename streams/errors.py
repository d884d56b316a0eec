"""Exceptions of the streams package (worker, CLI, local broker).

::

    StreamsError
    ├── BrokerError            the local Kafka broker could not be fetched, formatted or started
    ├── WorkerUnavailable      no worker answers on the configured web address
    └── CliError               a CLI command was given something it cannot use (exit code 2)
"""

from __future__ import annotations


class StreamsError(Exception):
    """Root of the streams package's exceptions."""


class BrokerError(StreamsError):
    """The local broker failed; the message says what to check."""


class WorkerUnavailable(StreamsError):
    """No worker is listening; the caller may fall back to opening ClickHouse itself."""


class CliError(StreamsError):
    """Bad CLI input; printed without a traceback and exits non-zero."""
