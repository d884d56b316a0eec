"""The Faust application: topics → table → agent → web views.

:func:`build_app` makes one app from settings (tests build several with their own ids and
topics). The agent aligns the co-partitioned inputs by event time
(:mod:`streams.alignment`), runs each released batch through the pure pipeline
(:func:`streams.batch.process_batch`) and makes it durable with the one commit protocol
(:func:`streams.commit.commit_batch`: rows → outputs acknowledged by the broker → states
and changelog → offsets). Events are acknowledged only in the protocol's last step, so a
worker stopped or killed anywhere re-reads what it had not made durable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
from faust.types import TP

from config import Settings
from config.rules import load_rules
from detectors.industry_context import stored_series
from detectors.models import OnlineModels, dump_models, load_models, save_models
from detectors.scoring.peers import close_period
from detectors.verdicts import VerdictCalibration
from schemas.state_codec import StateCache, state_json
from sinks import ClickHouseSink, Database
from streams import web_errors
from streams.alignment import EventTimeAligner, Record
from streams.batch import FeedLink, OutputTopics, process_batch
from streams.commit import CommitPorts, Failpoint, commit_batch
from streams.continuity import OffsetContinuity, Verdict
from streams.dashboard_views import register_dashboard
from streams.delivery_views import register_delivery
from streams.diagnostics import register_diagnostics
from streams.fault_injection import make_sink
from streams.fetch_control import client_view, commit_positions, seek_fetching
from streams.fetch_flow import FetchFlow
from streams.input_guards import InputReadOffsets, agent_queues, partition_starts, spare_from_clearing
from streams.intake import Intake, taking_inputs, wake_within
from streams.kafka_security import faust_credentials
from streams.metrics import WorkerMetrics
from streams.model_feed import ModelFeed, encode_frontier, register_model_feed
from streams.offset_commits import OffsetCommits
from streams.operator_jobs import register_operator_jobs
from streams.ops_views import register_operations
from streams.pipeline import RawMessage
from streams.producer_metadata import flush_knowing_changelogs
from streams.relay_views import redirect_to_owner
from streams.resolver_agent import register_resolver
from streams.row_writer import RelayedRowsWriter
from streams.table_store import register as register_table_store
from streams.table_store import rocksdb_options
from streams.verdict_feed import register_verdict_feed
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
    batches: int = 0
    models_ahead: bool = False  # a batch was scored but not yet committed
    last_checkpoint: float = 0.0
    last_progress: float = 0.0
    relayed_rows: RelayedRowsWriter | None = None  # the holder of chDB: rows other workers relay
    model_feed: ModelFeed | None = None  # other workers' learning (streams.model_feed)
    state_cache: StateCache = field(default_factory=lambda: StateCache(0))  # decoded states between batches

    async def in_db_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


def models_path(settings: Settings) -> Path:
    return settings.worker.data_dir / settings.worker.app_id / "models.pkl"


class WorkerApp(faust.App):
    """The faust app, with one change: what it waits for before a rebalance or a stop.

    faust waits until every event the consumer handed to a stream is acknowledged
    (``stream_wait_empty``) — before the revocation handlers run, and before it stops the
    tables. The worker acknowledges only in the commit protocol's last step and holds
    records for the event-time merge that it never acknowledges until they are processed,
    so that wait never ends. Without any wait, a batch in flight would write its states
    after the tables stopped and then commit its offsets: states lost (seen in the restart
    test after a SIGTERM). So the wait is for :attr:`quiesce`: the batch in flight finishes
    its commit protocol and no new batch starts until the tables of the next assignment are
    recovered (:meth:`on_rebalance_end`; from the start too): a batch run while the changelogs
    are read would find states not restored yet and derive them from nothing.
    """

    quiesce: Callable[[], Awaitable[None]] | None = None
    unfiltered_topics: tuple[str, ...] = ()  # set before the consumer is made: see streams.input_guards
    taken_topics: tuple[str, ...] = ()  # records taken from the fetches into the merge (streams.intake)
    take_input: Callable[[Any], None] | None = None  # set by build_app
    tables_ready: Callable[[], None] | None = None  # called once a rebalance's recovery is complete
    fetch_max_wait_ms: int | None = None  # the worker's fetch wait at the broker (faust fixes 1,500 ms)

    def on_rebalance_end(self) -> None:
        super().on_rebalance_end()
        if self.tables_ready is not None:
            self.tables_ready()

    def _new_consumer(self) -> Any:
        consumer = super()._new_consumer()
        consumer._read_offset = InputReadOffsets(self.unfiltered_topics, consumer._read_offset)  # type: ignore[attr-defined]
        if self.fetch_max_wait_ms is not None:
            thread = consumer._thread  # type: ignore[attr-defined]
            create, wait = thread._create_worker_consumer, self.fetch_max_wait_ms

            def create_worker_consumer(transport: Any) -> Any:
                client = create(transport)
                client._fetch_max_wait_ms = wait  # read when the client starts its fetcher
                return client

            thread._create_worker_consumer = create_worker_consumer
        if self.taken_topics:
            consumer.getmany = taking_inputs(consumer.getmany, self.taken_topics, self._take_input,  # type: ignore[method-assign]
                                             consumer._read_offset)  # type: ignore[attr-defined]  # fmt: skip
        return consumer

    def _take_input(self, message: Any) -> None:
        try:
            if self.take_input is not None:
                self.take_input(message)
        except Exception:
            # raised into faust's fetch loop, it would stop the consumer for good: a record
            # lost. Exit instead; the next start reads on from the last committed batch.
            log.critical("taking an input record failed; exiting so that the worker restarts from its "
                         "last committed batch", exc_info=True)  # fmt: skip
            os._exit(LOOP_FAILED_EXIT_CODE)

    async def _consumer_wait_empty(self, consumer: Any, logger: Any) -> None:
        if self.quiesce is not None:
            logger.info("Waiting for the batch in flight...")
            await self.quiesce()


LOOP_FAILED_EXIT_CODE = 71  # the input loop raised: restart the worker (70 is a failpoint's)
TURN_SECONDS = 0.1  # the merge is looked at least this often: what a batch waits to be taken
PRODUCER_BATCH_BYTES = 512 * 1024


def _faust_app(settings: Settings) -> WorkerApp:
    kafka = settings.kafka
    register_table_store()  # rocksdb:// for tables written in the commit protocol
    app = WorkerApp(
        settings.worker.app_id,
        broker=f"kafka://{kafka.bootstrap_servers}",
        broker_credentials=faust_credentials(kafka),
        store=settings.worker.table_store,
        datadir=str(settings.worker.data_dir / settings.worker.app_id),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        table_standby_replicas=settings.worker.standby_replicas,
        web_host=settings.web.host,
        web_port=settings.web.port,
        canonical_url=settings.web.advertised_url,
        web_enabled=True,
        producer_linger=0.005,
        producer_acks=-1,
        # A batch's states (≈ 2 KB each) and outputs go in few requests: with the client's
        # 16 KB batches a produce request carried ≈ 64 KB, and the changelog of 300 states
        # took ten round trips to the broker (below the broker's 1 MB message limit).
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        stream_buffer_maxsize=max(4096, settings.sink.batch_max_events * 2),
        broker_commit_interval=1.0,
        broker_session_timeout=kafka.session_timeout_seconds,
        broker_heartbeat_interval=kafka.heartbeat_interval_seconds,
        broker_rebalance_timeout=max(30.0, kafka.session_timeout_seconds * 3),
        # The consumer's own stop must not wait for every event to be acknowledged either
        # (records held for alignment never are): see WorkerApp.
        stream_wait_empty=False,
        # faust's own pages answer without our access gate: /table/… reads table values (the
        # enterprise states, personal data included), /router/… shows the cluster's workers.
        web_router_enabled=False,
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
    )
    app.unfiltered_topics = (*kafka.topics.inputs(), kafka.topics.resolve, kafka.topics.identities)
    app.taken_topics = kafka.topics.inputs()
    app.fetch_max_wait_ms = round(kafka.fetch_max_wait_seconds * 1000)
    _serve_only_our_views(app)
    web_errors.install(app.web.web_app)  # type: ignore[attr-defined]
    if settings.clickhouse.embedded and settings.worker.clickhouse_owner_url:
        owner = redirect_to_owner(settings.worker.clickhouse_owner_url)
        app.web.web_app.middlewares.append(owner)  # type: ignore[attr-defined]
    return app


def _serve_only_our_views(app: faust.App) -> None:
    """Drop faust's production index, the one built-in page no setting turns off (it claims ``/``)."""
    enabled = app.web.blueprints._enabled  # type: ignore[attr-defined]
    enabled[:] = [(prefix, bp) for prefix, bp in enabled if not str(bp).startswith("faust.web.apps.")]


def build_app(settings: Settings, db: Database) -> tuple[faust.App, Runtime]:
    kafka, topics = settings.kafka, settings.kafka.topics
    app = _faust_app(settings)
    runtime = Runtime(
        settings=settings,
        db=db,
        sink=make_sink(db, settings.sink, settings.worker.insert_outage_seconds),
        metrics=WorkerMetrics(),
        executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse"),
        models=load_models(models_path(settings)),
        checkpoint_path=models_path(settings),
        state_cache=StateCache(settings.worker.state_cache),
    )
    rules = load_rules()
    verdicts = register_verdict_feed(app, kafka, VerdictCalibration.from_rules(rules), runtime.metrics.verdicts)
    feed, feed_topic = register_model_feed(app, settings, runtime.models)
    runtime.model_feed = feed
    observer = register_operations(app, runtime)  # /ready, /api/audit, lag and latency metrics
    failpoint = Failpoint.parse(settings.worker.failpoint)
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    # acks=False: offsets are committed by the commit protocol itself (streams.offset_commits).
    inputs = app.topic(*topics.inputs(), partitions=kafka.partitions, acks=False, **raw)  # type: ignore[arg-type]
    outputs = OutputTopics(
        scores=app.topic(topics.scores, partitions=kafka.partitions, **raw),  # type: ignore[arg-type]
        alerts=app.topic(topics.alerts, partitions=kafka.partitions, **raw),  # type: ignore[arg-type]
        lists=app.topic(topics.lists, partitions=kafka.partitions, **raw),  # type: ignore[arg-type]
        deadletter=app.topic(topics.deadletter, partitions=kafka.partitions, **raw),  # type: ignore[arg-type]
        identities=app.topic(topics.identities, partitions=kafka.partitions, **raw),  # type: ignore[arg-type]
        resolve=app.topic(topics.resolve, partitions=kafka.partitions, **raw),  # type: ignore[arg-type]
    )
    states = app.Table(
        "enterprise_state",
        default=None,
        partitions=kafka.partitions,
        key_type=bytes,
        value_type=bytes,
        use_partitioner=True,
        options=rocksdb_options(settings.worker),
    )
    close_days = runtime.models.scorer.config.peers.close_days  # the group crosses each close together
    aligner = EventTimeAligner(
        topics.inputs(), settings.worker.align_max_idle_seconds, settings.worker.align_max_held,
        settings.worker.align_settle_seconds, period=functools.partial(close_period, days=close_days),
    )  # fmt: skip
    aligner.confirm_within = settings.worker.align_confirm_seconds
    ends_wanted = asyncio.Event()  # a record waits for the broker to confirm a caught-up partition
    feed.period = aligner.period
    feed_link = FeedLink(
        feed_topic, feed.worker, learn_before=feed.learn_before,
        order=lambda m: aligner.key(m.topic, m.partition, m.offset, m.timestamp or 0.0),
    )  # fmt: skip
    continuity = OffsetContinuity()
    starts: dict[tuple[str, int], int | None] = {}  # owned input partitions: where the group starts each (input_guards)
    resolver_topics = (topics.resolve, topics.identities)
    flow = FetchFlow(app, topics.inputs(), runtime.metrics)  # back-pressure, skipped ranges read again
    lock = asyncio.Lock()
    intake = Intake()

    log_ends: dict[TP, int] = {}  # asked of the broker: a fetch's high watermark can be old

    def caught_up(topic: str, partition: int, next_offset: int) -> bool:
        """Nothing of ``topic``/``partition`` is waiting to be fetched."""
        tp = TP(topic, partition)
        consumer = app.consumer
        if tp not in consumer.assignment():  # moved to another worker; forgotten here once faust says so
            return False
        known = [h for h in (consumer.highwater(tp), log_ends.get(tp)) if h is not None]
        if not known:
            return False
        high = max(known)
        if next_offset < 0:  # nothing seen since the assignment: where the group left off
            committed = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
            return bool(high == 0 or (committed is not None and committed >= high))
        return bool(next_offset >= high)

    def _snapshot_models() -> bytes | None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time - runtime.last_checkpoint < settings.worker.checkpoint_seconds:
            return None
        runtime.last_checkpoint = loop_time
        feed.mark_position()
        return dump_models(runtime.models)  # in the event loop: the models do not change under the pickler

    async def _save_models(payload: bytes | None) -> None:
        if payload is not None:
            await runtime.in_db_thread(save_models, payload, runtime.checkpoint_path)
        runtime.models_ahead = False  # the states are flushed: the models match them again

    async def _send(topic: Any, key: bytes | None, value: bytes) -> Any:
        # Straight to the producer: the bytes are final, the topics exist, and faust's channel
        # layer (a future message, serializer lookups, sensors) cost more per message than
        # the send itself. Partitioned by key as before (the client's default partitioner).
        return await app.producer.send(topic.get_topic_name(), key, value, partition=None, timestamp=None,
                                       headers=None)  # fmt: skip

    offset_commits = OffsetCommits(lambda positions: commit_positions(app.consumer, positions))  # step 4

    async def _flush_rows() -> int:
        written = int(await runtime.in_db_thread(runtime.sink.flush))
        runtime.metrics.rows.inc(written)
        runtime.metrics.sink_failures.set(runtime.sink.write_failures)
        return written

    ports = observer.wrap(CommitPorts(
        flush_rows=_flush_rows,
        send=_send,
        flush_producer=lambda: flush_knowing_changelogs(app),
        write_state=states.__setitem__,
        snapshot_models=_snapshot_models,
        save_models=_save_models,
        ack=offset_commits.ack,
        commit_offsets=offset_commits.commit,
    ))

    async def refresh_log_ends() -> None:
        """The end of each empty input partition of a group that holds records, from the broker.

        The consumer fetches a partition again only once its earlier records were taken, so
        while the worker is busy a partition's high watermark can be seconds old and a lagging
        partition would look caught up.
        """
        empty = [TP(topic, partition) for topic, partition in aligner.empty()]
        if not empty or not aligner.held:
            return
        asked_at = asyncio.get_running_loop().time()
        try:
            ends = await app.consumer.highwaters(*empty)
        except Exception as exc:  # noqa: BLE001 - keep the fetch's view; the aligner's idle limit still holds
            log.warning("could not read the end of %d input partitions: %s", len(empty), exc)
            return
        answered = {tp: int(end) for tp, end in ends.items() if end is not None}
        log_ends.update(answered)
        aligner.confirm([(tp.topic, tp.partition) for tp in answered], asked_at)

    # Set from the start, a rebalance or a stop until the tables are recovered (WorkerApp.on_rebalance_end):
    # a batch that ran while the changelogs are read would find states not restored yet.
    quiesced = asyncio.Event()
    quiesced.set()
    readying: list[asyncio.Future[None]] = []
    resolver_starts: dict[tuple[str, int], int | None] = {}  # the resolver's partitions: committed offset or log start
    # The consumer generation whose assigned partitions ``starts`` holds (set by _merge_assigned).
    merged: dict[str, int | None] = {"generation": None}
    merged_news = asyncio.Event()

    async def _partitions_merged(generation: int) -> bool:
        """Wait until ``starts`` holds the partitions of ``generation``; False if a newer
        rebalance came first (its own recovery resumes). faust recovers the tables before it
        sends the assignment signal: with empty changelogs the recovery can end before
        _merge_assigned has read where the new partitions start (seen: a fresh worker that
        never fetched a record)."""
        while merged["generation"] != generation:
            if app.consumer_generation_id != generation:  # type: ignore[attr-defined]
                return False
            merged_news.clear()
            await wake_within(1.0, merged_news)
        return True

    async def _resume_after_recovery(generation: int) -> None:
        """Seek every owned input (and resolver) partition to the next record the worker needs, then resume.

        faust drops what it fetched while a rebalance was under way and seeks back only the
        partitions that have a committed offset above 0: a partition the group never
        committed would never be fetched again (seen: a whole topic silent after a restart).
        Seeking each one here, once the tables are recovered, re-reads whatever was dropped;
        the continuity check ignores what arrives twice. The industries' monthly levels are
        rebuilt from the recovered states of the owned partitions first
        (:meth:`detectors.industry_context.IndustryPeriods.rebuild`), so they match the states
        whatever the models checkpoint missed.
        """
        if not await _partitions_merged(generation):
            return
        async with lock:
            owned = {partition for _, partition in starts}
            try:
                await asyncio.get_running_loop().run_in_executor(None, _rebuild_industry, owned)
            except Exception as exc:  # noqa: BLE001 - the levels then fill again as returns arrive
                log.warning("could not rebuild the industry levels from the states: %s", exc)
            for where, start in [*starts.items(), *resolver_starts.items()]:
                offset = continuity.expected.get(where, start)
                if offset is None:
                    continue
                try:
                    await seek_fetching(app.consumer, TP(*where), offset)
                except Exception as exc:  # noqa: BLE001 - moved on by a newer rebalance: its own recovery seeks it
                    log.warning("could not seek %s[%d] after the recovery: %s", *where, exc)
            if app.consumer_generation_id == generation and not app.rebalancing:  # type: ignore[attr-defined]
                quiesced.clear()

    def _rebuild_industry(owned: set[int]) -> None:
        for _ in range(3):  # a standby's update may change the table under the scan: again
            try:
                runtime.models.industry.rebuild(stored_series((state_json(v) for _, v in states.items() if v), owned))
                return
            except RuntimeError as exc:
                error = exc
        raise error

    def _tables_ready() -> None:
        readying[:] = [f for f in readying if not f.done()]
        readying.append(asyncio.ensure_future(_resume_after_recovery(app.consumer_generation_id)))  # type: ignore[attr-defined]

    app.tables_ready = _tables_ready

    async def _quiesce() -> None:
        async with lock:  # the batch in flight completes its commit protocol first
            await offset_commits.settle()
            quiesced.set()

    app.quiesce = _quiesce  # type: ignore[attr-defined]

    def describe_partition(tp: TP) -> str:
        """What the consumer knows of ``tp`` (for the log when the merge gave up waiting for it)."""
        consumer = app.consumer
        return (f"(next expected {continuity.expected.get((tp.topic, tp.partition))}, "
                f"committed {consumer._committed_offset.get(tp)}, "  # type: ignore[attr-defined]
                f"read {consumer._read_offset.get(tp)}, high {consumer.highwater(tp)}, "  # type: ignore[attr-defined]
                f"active {tp in consumer._get_active_partitions()}, "  # type: ignore[attr-defined]
                f"paused {tp in getattr(consumer, '_paused_partitions', ())}; {client_view(consumer, tp)})")  # fmt: skip

    def reseek_silent(silent: list[tuple[str, int]]) -> None:
        """Seek a partition that kept records on the broker but delivered none to its next offset.

        A safety net: the restart stall it was added for (the client's position past records
        faust never handed on) is closed at its causes in :mod:`streams.input_guards`, and the
        restart tests assert it no longer fires. A seek on the Kafka client's thread makes the
        partition fetch again; logged above and counted in ``entbrain_silent_partition_seeks_total``.
        """
        for topic, partition in silent:
            offset = continuity.expected.get((topic, partition), starts.get((topic, partition)))
            if offset is not None:
                flow.reseek(TP(topic, partition), offset)

    async def drain() -> bool:
        """Release what the aligner lets go, up to one batch, process it and commit it; whether
        a whole batch went (more may be ready). The lock is held for that one batch only, so a
        rebalance or a stop that waits for it (:attr:`WorkerApp.quiesce`) waits for one batch,
        not for a backlog's worth of released records (seen: a joining worker kept waiting
        ten seconds while the other worked through everything it held)."""
        async with lock:
            if quiesced.is_set():
                return False  # the tables stop or partitions move: what is held is read again later
            full = await _drain()
            await _publish_frontier()
            return full

    def input_partitions() -> int:
        """The input topics' partitions as the consumer's metadata has them (else as configured)."""
        try:
            known = app.consumer.topic_partitions(topics.registration)
        except Exception:  # noqa: BLE001 - a consumer not started yet: the configured count
            known = None
        return int(known or kafka.partitions)

    async def _publish_frontier() -> None:
        """Tell the group's other workers how far this merge has gone (streams.model_feed)."""
        owned = {partition for _, partition in starts}
        loop = asyncio.get_running_loop()
        mine = feed.frontier_to_publish(aligner.frontier(caught_up, loop.time()), owned, loop.time())
        if mine is not None:
            try:
                await feed_topic.send(key=f"~frontier/{feed.worker}".encode(), value=encode_frontier(mine))
            except Exception as exc:  # noqa: BLE001 - the others wait at most max_idle; sent again on the next change
                feed.published = None
                log.warning("could not publish the merge's frontier: %s", exc)

    async def _drain() -> bool:
        loop = asyncio.get_running_loop()
        unaligned = (aligner.idled, aligner.forced)
        feed.take_arrived()
        limit = feed.limit({partition for _, partition in starts}, input_partitions())
        batch = settings.sink.batch_max_events
        released = aligner.release(caught_up, loop.time(), limit, settings.worker.group_lead_records, batch,
                                   most=batch)  # fmt: skip
        runtime.metrics.aligner_releases.labels("group").set(aligner.awaited_group)
        if (aligner.idled, aligner.forced) != unaligned:
            silent = ", ".join(f"{t}[{p}] {describe_partition(TP(t, p))}" for t, p in aligner.silent)
            log.warning("released records without full alignment: %d times after waiting %.0fs for a "
                        "partition with records still to fetch (%s), %d records past the held limit (totals)",
                        aligner.idled, settings.worker.align_max_idle_seconds, silent or "-",
                        aligner.forced)  # fmt: skip
            lagging = [tp for tp in aligner.empty() if not caught_up(*tp, aligner.next_offset.get(tp, -1))]
            reseek_silent(sorted(set(aligner.silent) | set(lagging)))
            aligner.silent.clear()
        runtime.metrics.held.set(aligner.held)
        if aligner.unconfirmed:
            ends_wanted.set()  # ask the broker now rather than at the next second
        runtime.metrics.aligner_releases.labels("idle").set(aligner.idled)
        runtime.metrics.aligner_releases.labels("max_held").set(aligner.forced)
        runtime.metrics.aligner_releases.labels("out_of_order").set(aligner.out_of_order)
        if not released:
            return False
        started = loop.time()
        await _run_batch(released)
        runtime.last_progress = loop.time()
        aligner.extend_waits(runtime.last_progress - started)
        runtime.metrics.batch_seconds.set(runtime.last_progress - started)
        return len(released) == batch

    async def _run_batch(records: list[Record]) -> None:
        await verdicts.caught_up.wait()  # judge with every verdict known before the stop
        await feed.caught_up.wait()  # score against every peer the group had scored before the start
        feed.take_arrived()
        runtime.batches += 1
        runtime.models_ahead = True
        began = asyncio.get_running_loop().time()
        batch = process_batch(
            ((_raw(record), record.item) for record in records),
            states.get, runtime.sink, outputs, settings, rules, runtime.models, datetime.now(UTC),
            verdicts.calibration, feed_link, runtime.state_cache,
        )  # fmt: skip
        aligner.blocked_for(asyncio.get_running_loop().time() - began)  # no record was taken meanwhile
        observer.start(records, batch, began)
        await commit_batch(batch.outputs, ports, failpoint, runtime.batches)
        runtime.metrics.count_all(batch.counted)
        for lifecycle in batch.alert_states:
            runtime.metrics.alerts.labels(lifecycle).inc()

    def take(message: Any) -> None:
        """One input record, as the consumer iterates its fetch (:mod:`streams.intake`), into the merge."""
        where = (message.topic, message.partition)
        if where not in starts:
            return  # fetched before its partition went to another worker: not ours to process
        now = asyncio.get_running_loop().time()
        verdict = continuity.check(message.topic, message.partition, message.offset, starts[where], now)
        if verdict is Verdict.SEEK:
            flow.reread_gap(message, continuity.expected[where])
        if verdict is not Verdict.ACCEPT:
            return
        aligner.add(Record(message.topic, message.partition, message.offset, message.timestamp or 0.0, message, now,
                           aligner.busy))  # fmt: skip
        queue = aligner.queues[where]
        if len(queue) >= aligner.queue_limit(settings.worker.align_queue_limit) and message.tp not in flow.paused:
            flow.pause_now(message.tp)
        intake.taken += 1
        if intake.taken >= settings.sink.batch_max_events:
            intake.full.set()  # a whole batch is waiting: no need to wait for the next turn

    app.take_input = take

    @app.agent(inputs)
    async def enterprise_events(stream: faust.StreamT[bytes]) -> None:
        # The records are taken from the consumer's fetches (take, above) and never reach
        # this stream; the agent is what subscribes the inputs and co-partitions the table.
        async for event in stream.noack():  # type: ignore[attr-defined]
            take(event.message)  # not expected: should faust hand one on, it is merged all the same

    async def regulate_flow() -> None:
        await flow.regulate(aligner.queues.items(), aligner.queue_limit(settings.worker.align_queue_limit))

    @app.task
    async def _take_batches() -> None:
        """Held records go once the merge lets them (or the partitions they wait for waited
        ``max_idle``): looked at every :data:`TURN_SECONDS` (or ``batch_max_seconds`` if
        shorter), at once when a whole batch arrived or the others' frontiers move."""
        turn = min(TURN_SECONDS, settings.sink.batch_max_seconds)
        more = False
        try:
            while True:
                if not more:  # a whole batch just went: the next may be ready at once
                    await wake_within(turn, intake.full, feed.news)
                more = False
                intake.full.clear()
                feed.news.clear()
                intake.taken = 0
                if aligner.held:
                    await regulate_flow()
                    more = await drain()
                    await regulate_flow()
                elif not quiesced.is_set():
                    async with lock:
                        await _publish_frontier()
        except Exception:
            # the records a failed batch had taken from the merge would be neither processed
            # nor read again: exit instead, and the next start resumes from the last committed
            # batch (the commit protocol).
            log.critical("the input loop failed; exiting so that the worker restarts from its "
                         "last committed batch", exc_info=True)  # fmt: skip
            os._exit(LOOP_FAILED_EXIT_CODE)

    # Loops rather than faust timers: a timer that runs longer than its interval (a batch
    # takes longer than 0.1 s) logs a warning every time, which says nothing here.
    @app.task
    async def _read_log_ends() -> None:
        """In the background: a slow answer must never hold up a batch. Every second, and at
        once when a record waits for the broker to confirm a caught-up partition."""
        loop = asyncio.get_running_loop()
        second = loop.time()
        while True:
            await wake_within(max(0.0, second + 1.0 - loop.time()), ends_wanted)
            if ends_wanted.is_set():
                ends_wanted.clear()
                await refresh_log_ends()
                intake.full.set()  # look at the merge again now
            if loop.time() - second < 1.0:
                continue
            second = loop.time()
            flow.resume_orphans()
            if offset_commits.pending and not lock.locked() and not quiesced.is_set():
                async with lock:
                    await offset_commits.commit()
            if aligner.held:
                await refresh_log_ends()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _merge_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        if settings.worker.assignment_delay_seconds:
            await asyncio.sleep(settings.worker.assignment_delay_seconds)
        mine = [tp for tp in assigned if tp.topic in topics.inputs()]
        spare_from_clearing(app.flow_control, [*agent_queues(enterprise_events), *agent_queues(resolver)])
        resolving_tps = [tp for tp in assigned if tp.topic in resolver_topics]
        try:  # where each partition starts: the first record must be that one
            found: dict[tuple[str, int], int | None] = {**await partition_starts(app.consumer, mine)}
            resolving: dict[tuple[str, int], int | None] = {**await partition_starts(app.consumer, resolving_tps)}
        except Exception as exc:  # noqa: BLE001 - then a jump shows at the next record only
            log.warning("could not read where the assigned partitions start: %s", exc)
            found = {(tp.topic, tp.partition): None for tp in mine}
            resolving = {}
        async with lock:
            starts.clear()
            starts.update(found)
            resolver_starts.clear()
            resolver_starts.update(resolving)
            aligner.assign({tp.partition for tp in mine})
            merged["generation"] = app.consumer_generation_id  # type: ignore[attr-defined]
            merged_news.set()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _forget_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        mine = {tp.partition for tp in revoked if tp.topic in topics.inputs()}
        async with lock:
            await offset_commits.settle()
            for where in [w for w in starts if w[1] in mine]:
                del starts[where]
            for where in [(tp.topic, tp.partition) for tp in revoked]:
                resolver_starts.pop(where, None)
            continuity.forget(mine, topics.inputs())
            offset_commits.forget(mine)
            flow.forget(mine)
            aligner.forget(mine)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _final_checkpoint(app: faust.App, **kwargs: Any) -> None:
        if not runtime.models_ahead:  # after an interrupted batch they are ahead of the committed state
            save_models(runtime.models, runtime.checkpoint_path)

    resolver = register_resolver(app, runtime, lock, _flush_rows, quiesced)
    register_diagnostics(app, runtime)
    register_views(app, runtime, states)
    register_dashboard(app, runtime)
    register_delivery(app, runtime)

    async def rewind(targets: dict[tuple[str, int], int]) -> list[tuple[str, int]]:
        """Seek the owned input partitions among ``targets`` back, between two batches (``/api/replay``)."""
        moved: list[tuple[str, int]] = []
        async with lock:
            await offset_commits.settle()  # a commit landing after the seek would move the group past it
            for where, offset in sorted(targets.items()):
                if where not in starts:
                    continue
                continuity.expected[where] = offset  # later records fetched before the seek: a gap, read again
                continuity.seeking.pop(where, None)
                await seek_fetching(app.consumer, TP(*where), offset)
                moved.append(where)
        if moved:
            log.warning("replay: rewound %s", ", ".join(f"{t}[{p}] to {targets[(t, p)]}" for t, p in moved))
        return moved

    async def commit_processed() -> None:
        async with lock:
            await offset_commits.settle()

    register_operator_jobs(app, runtime, rewind, commit_processed)
    return app, runtime


def _raw(record: Record) -> RawMessage:
    message = record.item
    return RawMessage(message.topic, message.partition, message.offset, message.key, message.value, message.timestamp)
