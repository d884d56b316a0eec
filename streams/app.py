"""The Faust application: topics → table → agent → web views.

:func:`build_app` makes one app from settings (tests build several with their own ids and
topics). The agent takes batches of events, runs :func:`streams.pipeline.process_message`
on each, writes each touched enterprise's state to the table once per batch, sends scores,
alerts and dead letters, and flushes the ClickHouse sink. The batch is acknowledged only
after the body returns, i.e. after ClickHouse took its rows: offsets never run ahead of
the database.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from config import Settings
from config.rules import load_rules
from detectors.models import OnlineModels, dump_models, load_models, save_models
from schemas import EnterpriseState
from sinks import ClickHouseSink, Database
from sinks.rows import Row
from streams.alert_stream import AlertBroadcaster
from streams.dashboard_views import register_dashboard
from streams.kafka_security import faust_credentials
from streams.metrics import WorkerMetrics
from streams.pipeline import RawMessage, process_message
from streams.views import register_views

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the app's agents and views share: settings, database, sink, counters."""

    settings: Settings
    db: Database
    sink: ClickHouseSink
    metrics: WorkerMetrics
    executor: ThreadPoolExecutor
    models: OnlineModels
    checkpoint_path: Path
    flushes: int = 0
    last_checkpoint: float = 0.0
    last_progress: float = 0.0
    alerts: AlertBroadcaster = field(default_factory=AlertBroadcaster)

    async def in_db_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


def models_path(settings: Settings) -> Path:
    return settings.worker.data_dir / settings.worker.app_id / "models.pkl"


def build_app(settings: Settings, db: Database) -> tuple[faust.App, Runtime]:
    kafka, topics = settings.kafka, settings.kafka.topics
    app = faust.App(
        settings.worker.app_id,
        broker=f"kafka://{kafka.bootstrap_servers}",
        broker_credentials=faust_credentials(kafka),
        store=settings.worker.table_store,
        datadir=str(settings.worker.data_dir / settings.worker.app_id),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        web_host=settings.web.host,
        web_port=settings.web.port,
        web_enabled=True,
        producer_linger=0.005,
        stream_buffer_maxsize=max(4096, settings.sink.batch_max_events * 2),
        broker_commit_interval=1.0,
        broker_session_timeout=kafka.session_timeout_seconds,
        broker_heartbeat_interval=kafka.heartbeat_interval_seconds,
        broker_rebalance_timeout=max(30.0, kafka.session_timeout_seconds * 3),
    )
    runtime = Runtime(
        settings=settings,
        db=db,
        sink=ClickHouseSink(db, settings.sink),
        metrics=WorkerMetrics(),
        executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse"),
        models=load_models(models_path(settings)),
        checkpoint_path=models_path(settings),
    )
    rules = load_rules()
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    inputs = app.topic(*topics.inputs(), partitions=kafka.partitions, **raw)  # type: ignore[arg-type]
    scores_topic = app.topic(topics.scores, partitions=kafka.partitions, **raw)  # type: ignore[arg-type]
    alerts_topic = app.topic(topics.alerts, partitions=kafka.partitions, **raw)  # type: ignore[arg-type]
    lists_topic = app.topic(topics.lists, partitions=kafka.partitions, **raw)  # type: ignore[arg-type]
    deadletter_topic = app.topic(topics.deadletter, partitions=kafka.partitions, **raw)  # type: ignore[arg-type]
    states = app.Table(
        "enterprise_state",
        default=None,
        partitions=kafka.partitions,
        key_type=bytes,
        value_type=bytes,
        use_partitioner=True,
    )

    @app.agent(inputs)
    async def enterprise_events(stream: faust.StreamT[bytes]) -> None:
        batch_max = settings.sink.batch_max_events
        within = settings.sink.batch_max_seconds
        async for events in stream.take_events(batch_max, within=within):  # type: ignore[attr-defined]
            started = asyncio.get_running_loop().time()
            await _process_batch(events)
            loop_time = asyncio.get_running_loop().time()
            runtime.last_progress = loop_time
            runtime.metrics.batch_seconds.set(loop_time - started)
            if loop_time - runtime.last_checkpoint >= settings.worker.checkpoint_seconds:
                runtime.last_checkpoint = loop_time
                await _checkpoint()

    async def _checkpoint() -> None:
        # Pickled here, in the event loop, so the models do not change under the pickler.
        payload = dump_models(runtime.models)
        await runtime.in_db_thread(save_models, payload, runtime.checkpoint_path)

    @app.timer(interval=5.0)
    async def _stall_watchdog() -> None:
        """Re-seek to the committed offsets when input waits but nothing has been processed.

        After a crash-restart the consumer can stop delivering records although partitions
        are assigned, active and behind their high watermark; seeking to the committed
        offsets resumes delivery (records after them are redelivered, and recognised as
        duplicates by the state if they were applied).
        """
        loop_time = asyncio.get_running_loop().time()
        recovering = bool(getattr(getattr(app.tables, "recovery", None), "in_recovery", False))
        if app.rebalancing or recovering or not runtime.last_progress:
            runtime.last_progress = loop_time  # the clock starts once partitions are settled
            return
        if loop_time - runtime.last_progress < settings.worker.stall_seconds:
            return
        consumer = app.consumer
        inputs_set = set(topics.inputs())
        behind = []
        for tp in consumer.assignment():
            if tp.topic not in inputs_set:
                continue
            high = consumer.highwater(tp)
            done = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
            if high is not None and high > (done or 0):
                behind.append(tp)
        if not behind:
            runtime.last_progress = loop_time
            return
        log.warning("no progress for %.0fs with %d partitions behind; seeking to committed offsets",
                    loop_time - runtime.last_progress, len(behind))  # fmt: skip
        runtime.metrics.stalls.inc()
        runtime.last_progress = loop_time
        await consumer.perform_seek()  # type: ignore[attr-defined]

    @app.task
    async def _diagnostics_on_sigusr1() -> None:
        """``kill -USR1 <pid>`` writes every asyncio task's stack to the log (stall diagnosis)."""
        loop = asyncio.get_running_loop()

        def dump() -> None:
            consumer = app.consumer
            try:
                paused = consumer._thread._ensure_consumer().paused()  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - diagnostics must not fail
                paused = f"unknown ({exc})"
            log.warning(
                "assignment=%s paused=%s active=%s buffered=%s flow_active=%s",
                sorted(map(str, consumer.assignment())), paused,
                sorted(map(str, getattr(consumer, "_active_partitions", None) or [])),
                sorted(map(str, getattr(consumer, "_buffered_partitions", None) or [])),
                getattr(consumer, "flow_active", None),
            )  # fmt: skip
            for task in asyncio.all_tasks(loop):
                buffer = io.StringIO()
                task.print_stack(file=buffer)
                log.warning("task %s:\n%s", task.get_name(), buffer.getvalue())

        loop.add_signal_handler(signal.SIGUSR1, dump)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _final_checkpoint(app: faust.App, **kwargs: Any) -> None:
        save_models(runtime.models, runtime.checkpoint_path)

    async def _process_batch(events: list[faust.EventT[bytes]]) -> None:
        now = datetime.now(UTC)
        touched: dict[str, EnterpriseState] = {}
        snapshots: dict[str, Row] = {}
        sends: list[Any] = []
        alert_values: list[bytes] = []
        counted: list[tuple[str, str]] = []
        for event in events:
            message = event.message
            msg = RawMessage(message.topic, message.partition, message.offset, message.key, message.value)
            uscc = msg.key.decode("utf-8", errors="replace") if msg.key else None
            state = touched.get(uscc) if uscc else None
            if state is None and uscc:
                stored = states.get(uscc.encode())
                state = EnterpriseState.model_validate_json(stored) if stored else None
            outcome = process_message(msg, state, now, settings.worker.recent_event_ids, rules, runtime.models)
            counted.append((msg.topic, outcome.status))
            if outcome.dead_letter is not None:
                sends.append(
                    deadletter_topic.send(key=msg.key, value=outcome.dead_letter.model_dump_json().encode())
                )
            if outcome.state is not None and outcome.uscc is not None:
                touched[outcome.uscc] = outcome.state
            if outcome.score is not None and outcome.uscc is not None:
                sends.append(
                    scores_topic.send(key=outcome.uscc.encode(), value=outcome.score.model_dump_json().encode())
                )
            for change in outcome.list_changes:
                sends.append(lists_topic.send(key=change.uscc.encode(), value=change.model_dump_json().encode()))
            for alert in outcome.alerts:
                runtime.metrics.alerts.labels(alert.state.value).inc()
                alert_values.append(alert.model_dump_json().encode())
                sends.append(alerts_topic.send(key=alert.uscc.encode(), value=alert_values[-1]))
            for table, row in outcome.rows:
                if table == "enterprise_snapshot":
                    snapshots[row["uscc"]] = row
                else:
                    runtime.sink.add(table, row)
        for row in snapshots.values():
            runtime.sink.add("enterprise_snapshot", row)
        # Order matters for crash safety: rows first, then the state. A crash after the
        # flush re-applies the batch (same rows, same keys: collapsed); a crash after the
        # state write sees the events as duplicates, whose rows are already stored.
        written = await runtime.in_db_thread(runtime.sink.flush)
        runtime.metrics.rows.inc(written)
        runtime.metrics.sink_failures.set(runtime.sink.write_failures)
        runtime.flushes += 1
        if runtime.flushes == settings.worker.crash_after_flushes:
            os._exit(70)
        for uscc, state in touched.items():
            states[uscc.encode()] = state.model_dump_json().encode()
        for topic, status in counted:  # counted once the batch's rows and states are stored
            runtime.metrics.count(topic, status)
        if sends:
            await asyncio.gather(*sends)
        for value in alert_values:  # the live stream (SSE) once the producer has them
            runtime.alerts.publish(value)

    register_views(app, runtime, states)
    register_dashboard(app, runtime)
    return app, runtime
