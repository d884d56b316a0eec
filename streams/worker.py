"""Running the worker: topics, database and migrations first, then the Faust worker."""

from __future__ import annotations

import logging

import faust

from config import Settings
from sinks import Database, migrate
from streams.app import build_app
from streams.kafka_admin import ensure_topics
from streams.logs import use_json

log = logging.getLogger(__name__)


class JsonLogWorker(faust.Worker):
    """A Faust worker whose log lines are JSON objects, personal data masked."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        use_json(logger)


def run_worker(settings: Settings, loglevel: str = "WARNING") -> None:
    """Block running the worker until it is stopped (SIGINT / SIGTERM)."""
    if settings.log.format == "json":
        use_json()  # from the first line, before Faust sets up its own handlers
    ensure_topics(settings.kafka)
    db = Database(settings.clickhouse)
    applied = migrate(db)
    if applied:
        log.warning("applied migrations: %s", ", ".join(applied))
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    app, runtime = build_app(settings, db)
    worker = (JsonLogWorker if settings.log.format == "json" else faust.Worker)(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        runtime.executor.shutdown(wait=True)
        db.close()
