"""What operators watch: consumer lag, latency, sink batches, versions, readiness.

:class:`Observer` adds its metrics to the worker's registry (``/metrics``) and hooks into
the commit protocol without changing it: :meth:`Observer.wrap` decorates the protocol's
ports, so the rows flush (step 1) measures the sink batch and the latency of every record
of the batch — from its event time (``occurred_at``) and from its Kafka timestamp to the
moment its rows are in ClickHouse — and the offsets commit (step 4) counts the batch's
alerts by type and lifecycle state, once they are durable.

:meth:`Observer.readiness` is ``/ready``: the broker answers, ClickHouse answers
``SELECT 1``, the table recovery finished, and the worker is not stalled (no insert
retrying, input consumed within the stall window). Each failing check is named.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import Counter, Gauge, Histogram, Info

from config import load_scoring_config
from config.rules import default_rules
from detectors.scoring import MODEL_VERSION
from streams.commit import CommitPorts

if TYPE_CHECKING:
    import faust

    from streams.alignment import Record
    from streams.app import Runtime
    from streams.batch import ProcessedBatch

log = logging.getLogger(__name__)

# Event time of a backlog can be a year old; the Kafka-timestamp latency is seconds.
EVENT_TIME_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 31 * 86400,
                      92 * 86400, 366 * 86400, math.inf)  # fmt: skip
KAFKA_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, math.inf)
BATCH_ROWS_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, math.inf)
FLUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, math.inf)
PROBE_SECONDS = 3.0
# The commit protocol's steps as entbrain_batch_stage_seconds names them (streams.commit):
# rows in ClickHouse, outputs flushed (alerts visible), states flushed, models saved, offsets.
COMMIT_STAGES = ("rows", "outputs", "state", "models", "offsets")
BATCH_STAGES = ("merge", "process", *COMMIT_STAGES)


class Observer:
    """The worker's operational metrics and readiness, fed by the commit protocol."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        registry = runtime.metrics.registry
        self.lag = Gauge("entbrain_consumer_lag", "Input records not yet committed, per partition",
                         ["topic", "partition"], registry=registry)  # fmt: skip
        self.from_event_time = Histogram(
            "entbrain_latency_from_event_time_seconds", "Event time (occurred_at) to rows flushed to ClickHouse",
            buckets=EVENT_TIME_BUCKETS, registry=registry,
        )  # fmt: skip
        self.from_kafka = Histogram(
            "entbrain_latency_from_kafka_seconds", "Kafka record timestamp to rows flushed to ClickHouse",
            buckets=KAFKA_BUCKETS, registry=registry,
        )  # fmt: skip
        self.batch_rows = Histogram("entbrain_sink_batch_rows", "Rows per ClickHouse flush",
                                    buckets=BATCH_ROWS_BUCKETS, registry=registry)  # fmt: skip
        self.flush_seconds = Histogram("entbrain_sink_flush_seconds", "Seconds per ClickHouse flush (retries included)",
                                       buckets=FLUSH_BUCKETS, registry=registry)  # fmt: skip
        self.stage_seconds = Histogram(
            "entbrain_batch_stage_seconds",
            "Seconds per batch in each stage between taking a record and committing it: merge (the "
            "batch's oldest record, taken → processing), process, then the commit protocol's rows, "
            "outputs (alerts visible), state, models and offsets",
            ["stage"], buckets=FLUSH_BUCKETS, registry=registry,
        )  # fmt: skip
        self.alerts = Counter("entbrain_alerts", "Alert versions committed, by type and lifecycle state",
                              ["alert_type", "state"], registry=registry)  # fmt: skip
        self.versions = Info("entbrain_versions", "Model and configuration versions in force", registry=registry)
        self.versions.info({
            "model_version": MODEL_VERSION,
            "rules_version": default_rules().version,
            "scoring_version": load_scoring_config().version,
        })  # fmt: skip
        self._times: list[tuple[float, float | None]] = []  # (event time, Kafka timestamp) of the batch
        self._batch: ProcessedBatch | None = None
        self._marks: list[float] = []  # monotonic ends of the commit's steps so far (see wrap)
        self.flushing_since: float | None = None
        self._failures_at_flush = 0
        self._committed_total = -1
        self._committed_moved = time.monotonic()
        self.lag_total = 0

    # --- the commit protocol -------------------------------------------------------------

    def start(self, records: Sequence[Record], batch: ProcessedBatch, began: float) -> None:
        """The batch about to be committed (called just before ``commit_batch``); its processing
        began at ``began`` (the event loop's time, like the records' ``received``)."""
        self._times = [(r.event_time, getattr(r.item, "timestamp", None)) for r in records]
        self._batch = batch
        if records:
            self.stage_seconds.labels("merge").observe(max(0.0, began - min(r.received for r in records)))
        self.stage_seconds.labels("process").observe(asyncio.get_running_loop().time() - began)

    def _mark(self) -> None:
        self._marks.append(time.monotonic())

    def wrap(self, ports: CommitPorts) -> CommitPorts:
        async def flush_rows() -> int:
            self.flushing_since = time.monotonic()
            self._failures_at_flush = self.runtime.sink.write_failures
            try:
                written = await ports.flush_rows()
            finally:
                self._marks = [self.flushing_since, time.monotonic()]  # the commit's start, step 1's end
                took = self._marks[1] - self._marks[0]
                self.flushing_since = None
            self.batch_rows.observe(written)
            self.flush_seconds.observe(took)
            now = time.time()
            for occurred, stamped in self._times:
                if math.isfinite(occurred):
                    self.from_event_time.observe(max(0.0, now - occurred))
                if stamped:
                    self.from_kafka.observe(max(0.0, now - stamped))
            self._times = []
            return written

        async def flush_producer() -> None:
            await ports.flush_producer()
            self._mark()  # after the outputs, then after the states

        async def save_models(snapshot: bytes | None) -> None:
            await ports.save_models(snapshot)
            self._mark()

        async def commit_offsets() -> Any:
            result = await ports.commit_offsets()
            self._mark()
            if len(self._marks) == len(COMMIT_STAGES) + 1:  # a whole batch's commit, step by step
                for stage, begun, ended in zip(COMMIT_STAGES, self._marks, self._marks[1:], strict=False):
                    self.stage_seconds.labels(stage).observe(ended - begun)
            self._marks = []
            batch, self._batch = self._batch, None
            for value in batch.alert_values if batch is not None else ():
                alert = orjson.loads(value)
                self.alerts.labels(str(alert.get("alert_type")), str(alert.get("state"))).inc()
            return result

        return dataclasses.replace(ports, flush_rows=flush_rows, flush_producer=flush_producer,
                                   save_models=save_models, commit_offsets=commit_offsets)  # fmt: skip

    # --- lag and stall -------------------------------------------------------------------

    def update_lag(self, app: faust.App) -> None:
        """Per assigned input partition: high watermark − committed offset."""
        inputs = set(self.runtime.settings.kafka.topics.inputs())
        consumer = app.consumer
        committed_offsets = consumer._committed_offset  # type: ignore[attr-defined]
        self.lag.clear()
        total = committed_total = 0
        for tp in consumer.assignment():
            if tp.topic not in inputs:
                continue
            high = consumer.highwater(tp)
            committed = committed_offsets.get(tp)
            committed_total += committed or 0
            if high is None:
                continue
            behind = max(0, high - (committed or 0))
            total += behind
            self.lag.labels(tp.topic, str(tp.partition)).set(behind)
        self.lag_total = total
        if committed_total != self._committed_total:
            self._committed_total = committed_total
            self._committed_moved = time.monotonic()

    def stall_window(self) -> float:
        configured = self.runtime.settings.worker.stall_seconds
        return configured if configured > 0 else 60.0

    # --- readiness -----------------------------------------------------------------------

    async def readiness(self, app: faust.App) -> list[str]:
        """Why the worker is not ready (an empty list: ready)."""
        reasons: list[str] = []
        if not await _answers(self._broker_probe, "broker"):
            reasons.append(f"the Kafka broker at {self.runtime.settings.kafka.bootstrap_servers} does not answer")
        if not await _answers(self.runtime.db.probe, "ClickHouse"):
            reasons.append("ClickHouse does not answer SELECT 1")
        recovery = getattr(app.tables, "recovery", None)
        if recovery is None or recovery.in_recovery or not recovery.completed.is_set():
            reasons.append("the enterprise table is still recovering from its changelog")
        if app.rebalancing:
            reasons.append("the consumer group is rebalancing")
        if self.flushing_since is not None and self.runtime.sink.write_failures > self._failures_at_flush:
            failed = self.runtime.sink.write_failures - self._failures_at_flush
            since = time.monotonic() - self.flushing_since
            reasons.append(f"ClickHouse inserts are failing ({failed} retries over {since:.0f}s); input is paused")
        idle = time.monotonic() - self._committed_moved
        if self.lag_total > 0 and idle > self.stall_window():
            reasons.append(f"stalled: {self.lag_total} input records waiting and no commit for {idle:.0f}s")
        return reasons

    def _broker_probe(self) -> None:
        from confluent_kafka.admin import AdminClient

        from streams.kafka_security import confluent_config

        AdminClient(confluent_config(self.runtime.settings.kafka)).list_topics(timeout=PROBE_SECONDS)


async def _answers(probe: Any, what: str) -> bool:
    """``probe()`` returns within the probe time, on a thread of its own."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, probe), PROBE_SECONDS + 1)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.info("readiness: %s probe failed: %s", what, exc)
        return False
