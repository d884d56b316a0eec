"""The commit protocol's order, with ports that record what they are asked and when."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from streams.commit import BatchOutputs, CommitPorts, Failpoint, commit_batch


def _recording_ports(log: list[str]) -> CommitPorts:
    inserting = threading.Event()

    def insert() -> int:
        inserting.set()
        time.sleep(0.05)  # a thread's insert, off the event loop
        log.append("rows: written")
        return 3

    async def flush_rows() -> int:
        return await asyncio.to_thread(insert)

    async def send(topic: Any, key: bytes | None, value: bytes) -> None:
        log.append(f"send {value.decode()}")

    async def flush_producer() -> None:
        log.append("flush")

    def snapshot() -> bytes:
        # in the event loop: only a flush already handed to its thread can be inserting now
        log.append("models: pickled while the rows are inserted" if inserting.wait(2) else "models: pickled first")
        return b"models"

    async def save_models(payload: bytes | None) -> None:
        log.append(f"models: saved {payload!r}")

    async def ack(event: Any) -> None:
        log.append(f"ack {event}")

    async def commit_offsets() -> None:
        log.append("offsets")

    return CommitPorts(flush_rows=flush_rows, send=send, flush_producer=flush_producer,
                       write_state=lambda k, v: log.append(f"state {k.decode()}"), snapshot_models=snapshot,
                       save_models=save_models, ack=ack, commit_offsets=commit_offsets)  # fmt: skip


def test_rows_then_outputs_then_state_and_models_then_offsets_with_the_pickle_during_the_insert() -> None:
    log: list[str] = []
    outputs = BatchOutputs(messages=[("alerts", b"k", b"a1"), ("scores", b"k", b"s1")], states={b"k": b"v"},
                           events=["e1", "e2"])  # fmt: skip
    written = asyncio.run(commit_batch(outputs, _recording_ports(log), Failpoint(), 1))
    assert written == 3
    assert log == [
        "models: pickled while the rows are inserted", "rows: written",
        "send a1", "send s1", "flush",
        "state k", "flush", "models: saved b'models'",
        "ack e1", "ack e2", "offsets",
    ]  # fmt: skip
