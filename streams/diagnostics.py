"""Last defences and diagnosis: the stall watchdog and ``kill -USR1`` task dumps.

The watchdog re-seeks the consumer to its committed offsets when input waits but nothing
has been processed for ``ENTBRAIN_WORKER__STALL_SECONDS`` (0 turns it off). Every firing
is logged and counted in ``/metrics`` (``entbrain_consumer_stalls``): a firing means a
bug to find, not a normal event.
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal
from typing import TYPE_CHECKING, Any

import faust

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger(__name__)


def register_diagnostics(app: faust.App, runtime: Runtime) -> None:
    settings = runtime.settings
    inputs = set(settings.kafka.topics.inputs())

    if settings.worker.stall_seconds > 0:

        @app.timer(interval=5.0)
        async def _stall_watchdog() -> None:
            loop_time = asyncio.get_running_loop().time()
            recovering = bool(getattr(getattr(app.tables, "recovery", None), "in_recovery", False))
            if app.rebalancing or recovering or not runtime.last_progress:
                runtime.last_progress = loop_time  # the clock starts once partitions are settled
                return
            if loop_time - runtime.last_progress < settings.worker.stall_seconds:
                return
            consumer = app.consumer
            behind = []
            for tp in consumer.assignment():
                if tp.topic not in inputs:
                    continue
                high = consumer.highwater(tp)
                done = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
                if high is not None and high > (done or 0):
                    behind.append(tp)
            runtime.last_progress = loop_time
            if not behind:
                return
            log.warning("no progress for %.0fs with %d partitions behind; seeking to committed offsets",
                        settings.worker.stall_seconds, len(behind))  # fmt: skip
            runtime.metrics.stalls.inc()
            await consumer.perform_seek()  # type: ignore[attr-defined]

    @app.task
    async def _diagnostics_on_sigusr1() -> None:
        """``kill -USR1 <pid>`` writes the consumer's assignment and every task's stack to the log."""
        loop = asyncio.get_running_loop()

        def dump() -> None:
            consumer = app.consumer
            try:
                paused: Any = consumer._thread._ensure_consumer().paused()  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - diagnostics must not fail
                paused = f"unknown ({exc})"
            log.warning(
                "assignment=%s paused=%s active=%s buffered=%s flow_active=%s",
                sorted(map(str, consumer.assignment())), paused,
                sorted(map(str, getattr(consumer, "_active_partitions", None) or [])),
                sorted(map(str, getattr(consumer, "_buffered_partitions", None) or [])),
                getattr(consumer, "flow_active", None),
            )  # fmt: skip
            log.warning("fetch state of the input partitions: %s", fetch_states(consumer, inputs))
            for task in asyncio.all_tasks(loop):
                buffer = io.StringIO()
                task.print_stack(file=buffer)
                log.warning("task %s:\n%s", task.get_name(), buffer.getvalue())

        loop.add_signal_handler(signal.SIGUSR1, dump)


def fetch_states(consumer: Any, topics: set[str]) -> dict[str, str]:
    """What the Kafka client's fetcher knows of each input partition (for a stall's log)."""
    try:
        client = consumer._thread._ensure_consumer()
        fetcher = client._fetcher
        assignment = client._subscription.subscription.assignment
        out = {}
        for tp in sorted(assignment.tps):
            if tp.topic not in topics:
                continue
            state = assignment.state_value(tp)
            ftp = next((t for t in consumer.assignment() if (t.topic, t.partition) == (tp.topic, tp.partition)), None)
            acked = sorted(consumer._acked.get(ftp) or [])
            out[f"{tp.topic}[{tp.partition}]"] = (
                f"committed={consumer._committed_offset.get(ftp)} read={consumer._read_offset.get(ftp)} "
                f"acked={len(acked)}:{acked[:3]}..{acked[-1:]} gap={bool(consumer._gap.get(ftp))} "
                f"valid={state.has_valid_position} pos={state.position if state.has_valid_position else None} "
                f"paused={state.paused} reset={state.awaiting_reset} buffered={tp in fetcher._records} "
                f"in_flight={sorted(fetcher._in_flight)} pending={len(fetcher._pending_tasks)}"
            )
        return out
    except Exception as exc:  # noqa: BLE001 - diagnostics must not fail
        return {"error": repr(exc)}
