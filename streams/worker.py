"""Running the worker: topics, database and migrations first, then the Faust worker."""

from __future__ import annotations

import logging

import faust

from config import Settings
from sinks import Database, migrate
from streams import gc_policy
from streams.app import build_app
from streams.kafka_admin import ensure_topics
from streams.logs import use_json
from streams.model_feed import ensure_feed_topic, feed_topic
from streams.row_relay import RelayedDatabase
from streams.row_writer import RelayedRowsWriter

log = logging.getLogger(__name__)


class ServiceWorker(faust.Worker):
    """A Faust worker run as a service: no terminal spinner, the root logger at ``--loglevel``.

    faust's spinner (drawn on the terminal while starting) lowers the root logger to DEBUG
    so that every record reaches it: every ``log.debug`` in faust and aiokafka then builds
    a record per message sent (about 4% of a loaded worker's time) that the handler drops.
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        super().on_setup_root_logger(logger, level)
        logger.setLevel(level)


class JsonLogWorker(ServiceWorker):
    """A service worker whose log lines are JSON objects, personal data masked."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        use_json(logger)


def relays_rows(settings: Settings) -> bool:
    """This worker hands its rows to the worker that holds embedded ClickHouse."""
    return settings.clickhouse.embedded and bool(settings.worker.clickhouse_owner_url)


def open_database(settings: Settings) -> Database:
    """chDB (migrated) — or, in a relay, the rows topic to the worker that holds it."""
    if relays_rows(settings):
        return RelayedDatabase(settings.clickhouse, settings.kafka, settings.worker.clickhouse_owner_url)
    db = Database(settings.clickhouse)
    applied = migrate(db)
    if applied:
        log.warning("applied migrations: %s", ", ".join(applied))
    return db


def run_worker(settings: Settings, loglevel: str = "WARNING") -> None:
    """Block running the worker until it is stopped (SIGINT / SIGTERM)."""
    if settings.log.format == "json":
        use_json()  # from the first line, before Faust sets up its own handlers
    ensure_topics(settings.kafka)
    ensure_feed_topic(settings.kafka, feed_topic(settings))  # before faust looks for it
    if relays_rows(settings):  # the notifier queries and writes ClickHouse: it runs in the owner
        settings = settings.model_copy(update={"notifier": settings.notifier.model_copy(update={"enabled": False})})
    db = open_database(settings)
    writer = RelayedRowsWriter(settings, db) if settings.worker.accept_relayed_rows else None
    if writer is not None:
        writer.start()
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    app, runtime = build_app(settings, db)
    runtime.relayed_rows = writer
    gc_policy.apply(settings.worker.gc_young_threshold)  # the modules and the models loaded: frozen
    worker = (JsonLogWorker if settings.log.format == "json" else ServiceWorker)(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        if writer is not None:
            writer.stop()
        runtime.executor.shutdown(wait=True)
        db.close()
