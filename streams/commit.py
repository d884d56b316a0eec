"""The commit protocol of one input batch — written down once, here.

:func:`commit_batch` makes a processed batch durable in four steps, in this order:

1. **Rows**: the batch's ClickHouse rows are flushed (idempotent tables: ReplacingMergeTree
   keyed by the identity of what they hold, so a re-insert collapses).
2. **Outputs**: every output message of the batch — alerts, scores, list changes, dead
   letters — is produced **and acknowledged by the broker** (the producer is flushed).
3. **State**: the enterprise states are written to the Faust table and the changelog is
   flushed; the online models are checkpointed (pickled while step 1's rows are written —
   nothing changes them until the next batch — the file replaced after the flush).
4. **Offsets**: the batch's input events are acknowledged and their offsets committed.

A crash between two steps leaves the state of the previous batch, so the restarted worker
reads the batch again and re-derives the same rows (collapsed by their keys) and the same
output messages (same ``alert_id``, same ``version``, same bytes): a consumer of
``enterprise.alerts`` keeps the first message of each ``(alert_id, version)`` and drops
the identical repeats. A crash after step 3 finds the batch's records at or below the
offsets the states have applied: they are redeliveries and derive nothing.

One window is not closed: a process killed while the changelog of step 3 is being
delivered, before the models file is replaced, leaves some enterprises' states ahead of
the models; their records are then redeliveries the models do not learn again (states,
rows and rule alerts stay exact; later scores can differ slightly). The window lasts the
changelog flush and one file write.

Failpoints (testing only, off by default): ``ENTBRAIN_WORKER__FAILPOINT=<name>[@N]`` exits
the process hard (``os._exit``, like a SIGKILL) at the named boundary of the N-th batch
(default the first): ``after_rows``, ``after_outputs``, ``after_state``, ``before_commit``
(``after_state`` is before the changelog flush, ``before_commit`` after it).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

FAILPOINTS = ("after_rows", "after_outputs", "after_state", "before_commit")
FAILPOINT_EXIT_CODE = 70


@dataclass(frozen=True)
class Failpoint:
    """Where (and at which batch) to die; ``Failpoint.parse("")`` never fires."""

    name: str = ""
    batch: int = 1

    @classmethod
    def parse(cls, text: str) -> Failpoint:
        """``"after_rows@3"`` → die after the rows of the third batch.

        >>> Failpoint.parse("after_outputs@2")
        Failpoint(name='after_outputs', batch=2)
        >>> Failpoint.parse("")
        Failpoint(name='', batch=1)
        """
        if not text:
            return cls()
        name, _, nth = text.partition("@")
        if name not in FAILPOINTS:
            raise ValueError(f"unknown failpoint {name!r}; known: {', '.join(FAILPOINTS)}")
        return cls(name, int(nth) if nth else 1)

    def check(self, name: str, batch: int) -> None:
        if name == self.name and batch == self.batch:
            log.warning("failpoint %s reached at batch %d: exiting", name, batch)
            logging.shutdown()
            os._exit(FAILPOINT_EXIT_CODE)


@dataclass
class BatchOutputs:
    """What a processed batch must make durable (see the module's protocol)."""

    messages: list[tuple[Any, bytes | None, bytes]] = field(default_factory=list)  # (topic, key, value)
    states: dict[bytes, bytes] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)  # the input events to acknowledge


@dataclass
class CommitPorts:
    """The side effects the protocol orders; each is one awaitable call."""

    flush_rows: Callable[[], Awaitable[int]]
    send: Callable[[Any, bytes | None, bytes], Awaitable[Any]]
    flush_producer: Callable[[], Awaitable[None]]
    write_state: Callable[[bytes, bytes], None]
    # The models pickled now, or None when no checkpoint is due. In the event loop, while the
    # rows are written in their thread: the pickle sees the models as the batch left them.
    snapshot_models: Callable[[], bytes | None]
    save_models: Callable[[bytes | None], Awaitable[None]]
    ack: Callable[[Any], Awaitable[Any]]
    commit_offsets: Callable[[], Awaitable[Any]]


async def commit_batch(outputs: BatchOutputs, ports: CommitPorts, failpoint: Failpoint, batch: int) -> int:
    """Make one processed batch durable: rows → outputs → state → offsets. Returns rows written."""
    rows = asyncio.ensure_future(ports.flush_rows())  # 1
    await asyncio.sleep(0)  # the rows are handed to their thread, then the models are pickled meanwhile
    snapshot = ports.snapshot_models()  # (3) taken now, saved after the state
    written = await rows
    failpoint.check("after_rows", batch)
    await _send_all(ports, outputs.messages)  # 2
    await ports.flush_producer()
    failpoint.check("after_outputs", batch)
    for key, value in outputs.states.items():  # 3
        ports.write_state(key, value)
    failpoint.check("after_state", batch)
    await ports.flush_producer()
    await ports.save_models(snapshot)
    failpoint.check("before_commit", batch)
    for event in outputs.events:  # 4
        await ports.ack(event)
    await ports.commit_offsets()
    return written


async def _send_all(ports: CommitPorts, messages: Iterable[tuple[Any, bytes | None, bytes]]) -> None:
    # One after another: a ``resolved`` must follow its ``firing`` on the topic. ``send``
    # only queues the message and hands back its delivery future; then wait for the acks.
    delivered = [await ports.send(topic, key, value) for topic, key, value in messages]
    waits = [fut for fut in delivered if isinstance(fut, asyncio.Future)]
    if waits:
        await asyncio.gather(*waits)
