"""Rebuilding: discard the derived state and let the next worker start reprocess everything.

Derived state is what the worker made from the input, outside ClickHouse: the enterprise
table (its changelog topic, and a local table store if one is configured) and the online
models' checkpoint (``<data dir>/<app id>/models.pkl``). :func:`rebuild` moves the group to
the beginning of the input (or a time) first — so a failure half-way leaves a state that
treats the re-read as redeliveries, and running the rebuild again finishes it — then
deletes the changelog and waits until the broker has forgotten it, then the checkpoint.

The next worker start derives every state, row and output again, in the same event-time
order as live traffic: the ClickHouse tables (ReplacingMergeTree keyed by identity) end
as after a clean run, and the alert messages come again with the same ``alert_id``,
``version`` and bytes, so consumers that keep the first of each ``(alert_id, version)``
notify nobody twice.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from config import Settings
from streams.errors import CliError
from streams.kafka_security import confluent_config
from streams.model_feed import feed_topic
from streams.replay import ReplayPlan, plan, reset_group

TABLE = "enterprise_state"
Step = Callable[[str], None]


def changelog_topic(settings: Settings) -> str:
    """Faust's name for the enterprise table's changelog: ``<app id>-<table>-changelog``."""
    return f"{settings.worker.app_id}-{TABLE}-changelog"


def checkpoint_path(settings: Settings) -> Path:
    return settings.worker.data_dir / settings.worker.app_id / "models.pkl"


def table_store_dirs(settings: Settings) -> list[Path]:
    """A local table store's files (``rocksdb://``): ``<data dir>/<app id>/v*/tables``."""
    return sorted(p for p in (settings.worker.data_dir / settings.worker.app_id).glob("v*/tables") if p.is_dir())


@dataclass
class RebuildReport:
    plan: ReplayPlan
    deleted_topics: list[str] = field(default_factory=list)
    deleted_files: list[str] = field(default_factory=list)


def rebuild(settings: Settings, since: datetime | None = None, step: Step = lambda _: None) -> RebuildReport:
    """Reset the group, delete the changelog and the model checkpoint (refuses while the worker runs)."""
    step("planning")
    replay = plan(settings, since)
    step("moving the consumer group")
    reset_group(settings, replay)  # refuses while the group has live members
    report = RebuildReport(replay)
    step("deleting the table's changelog and the model feed")
    report.deleted_topics = _delete_topics(settings, [changelog_topic(settings), feed_topic(settings)], step)
    step("deleting the model checkpoint")
    checkpoint = checkpoint_path(settings)
    if checkpoint.exists():
        checkpoint.unlink()
        report.deleted_files.append(str(checkpoint))
    for directory in table_store_dirs(settings):
        shutil.rmtree(directory)
        report.deleted_files.append(str(directory))
    return report


def _delete_topics(settings: Settings, names: list[str], step: Step, timeout: float = 60.0) -> list[str]:
    admin = AdminClient(confluent_config(settings.kafka))
    present = [n for n in names if n in admin.list_topics(timeout=15).topics]
    if not present:
        return []
    for name, future in admin.delete_topics(present, operation_timeout=30).items():
        try:
            future.result(timeout=45)
        except KafkaException as exc:
            if "UNKNOWN_TOPIC" not in str(exc):
                raise CliError(f"cannot delete topic {name}: {exc.args[0]}") from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # deletion is asynchronous on the broker
        if not set(present) & set(admin.list_topics(timeout=15).topics):
            return present
        step("waiting for the broker to drop the changelog")
        time.sleep(0.5)
    raise CliError(f"the broker still lists {', '.join(present)} after {timeout:.0f}s; run the rebuild again")
