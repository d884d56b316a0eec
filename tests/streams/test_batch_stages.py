"""Where a batch's time goes: the worker's entbrain_batch_stage_seconds, step by step."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry

from streams.alignment import Record
from streams.commit import BatchOutputs, CommitPorts, Failpoint, commit_batch
from streams.observability import BATCH_STAGES, Observer

# Seconds each step of the fake commit takes; every one distinct, so a stage given another
# step's time shows.
ROWS, OUTPUTS, STATE, MODELS, OFFSETS = 0.12, 0.04, 0.2, 0.08, 0.0


def _timed_ports() -> CommitPorts:
    flushes = []

    async def flush_rows() -> int:
        await asyncio.to_thread(time.sleep, ROWS)
        return 1

    async def send(topic: Any, key: bytes | None, value: bytes) -> None:
        return None

    async def flush_producer() -> None:
        flushes.append(1)
        await asyncio.sleep(OUTPUTS if len(flushes) == 1 else STATE)

    async def save_models(payload: bytes | None) -> None:
        await asyncio.sleep(MODELS)

    async def nothing(*_: Any) -> None:
        return None

    return CommitPorts(flush_rows=flush_rows, send=send, flush_producer=flush_producer,
                       write_state=lambda k, v: None, snapshot_models=lambda: None, save_models=save_models,
                       ack=nothing, commit_offsets=nothing)  # fmt: skip


def test_each_stage_of_a_batch_is_timed_as_its_own_step() -> None:
    registry = CollectorRegistry()
    runtime: Any = SimpleNamespace(metrics=SimpleNamespace(registry=registry), sink=SimpleNamespace(write_failures=0))
    observer = Observer(runtime)
    ports = observer.wrap(_timed_ports())

    async def one_batch() -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        records = [Record("tax", 0, 7, 1.0, None, received=began - 0.5), Record("tax", 0, 8, 1.0, None, began - 0.1)]
        time.sleep(0.06)  # the batch being processed
        observer.start(records, SimpleNamespace(alert_values=[]), began)  # type: ignore[arg-type]
        outputs = BatchOutputs(messages=[("alerts", b"k", b"a")], states={b"k": b"v"}, events=["e"])
        await commit_batch(outputs, ports, Failpoint(), 1)

    asyncio.run(one_batch())

    def seconds(stage: str) -> tuple[float, float]:
        total = registry.get_sample_value("entbrain_batch_stage_seconds_sum", {"stage": stage})
        count = registry.get_sample_value("entbrain_batch_stage_seconds_count", {"stage": stage})
        assert count == 1, stage
        return total or 0.0, count

    took = {stage: seconds(stage)[0] for stage in BATCH_STAGES}
    assert 0.5 <= took["merge"] < 0.55  # the oldest record's wait
    expected = {"process": 0.06, "rows": ROWS, "outputs": OUTPUTS, "state": STATE, "models": MODELS,
                "offsets": OFFSETS}  # fmt: skip
    for stage, least in expected.items():
        assert least <= took[stage] < least + 0.05, (stage, took)
