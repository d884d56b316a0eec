"""Running the worker: topics, database and migrations first, then the Faust worker."""

from __future__ import annotations

import logging

import faust

from config import Settings
from sinks import Database, migrate
from streams.app import build_app
from streams.kafka_admin import ensure_topics

log = logging.getLogger(__name__)


def run_worker(settings: Settings, loglevel: str = "WARNING") -> None:
    """Block running the worker until it is stopped (SIGINT / SIGTERM)."""
    ensure_topics(settings.kafka)
    db = Database(settings.clickhouse)
    applied = migrate(db)
    if applied:
        log.warning("applied migrations: %s", ", ".join(applied))
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    app, runtime = build_app(settings, db)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        runtime.executor.shutdown(wait=True)
        db.close()
