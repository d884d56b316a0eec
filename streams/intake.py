"""The input records go from faust's consumer straight into the worker's merge.

faust hands every fetched record to its streams one at a time: per record, a pair of tasks
that watch for a flow stop, the conductor's lock and flow-control waits, an event object,
a queue put and the stream's own iteration. In a faust agent that only counts, that is about
three quarters of its time per record (py-spy, ``python -m bench.throughput``). The worker
does not need any of it: it buffers its input in its own event-time merge
(:class:`streams.alignment.EventTimeAligner`), takes batches from there and commits offsets
itself (:mod:`streams.commit`).

So the worker's consumer iterates its fetches through :func:`taking_inputs`: a record of an
input topic is handed to ``take`` as the fetch is iterated and goes no further; every other
record (the identity resolver's topics) goes faust's way. faust stops iterating a fetch as
soon as the flow stops (a rebalance), so nothing is taken while partitions move. The worker
looks at its merge every turn, or at once when a whole batch has been taken
(:class:`Intake`, :func:`wake_within`).

>>> import asyncio
>>> from types import SimpleNamespace
>>> fetched = [("tax", 1), ("unresolved", 2), ("tax", 3)]
>>> async def getmany(timeout):
...     for topic, offset in fetched:
...         yield (topic, 0), SimpleNamespace(topic=topic, offset=offset)
>>> taken, read = [], {}
>>> wrapped = taking_inputs(getmany, {"tax"}, lambda m: taken.append(m.offset), read)
>>> async def passed():
...     return [m.offset async for _, m in wrapped(timeout=1.0)]
>>> asyncio.run(passed()), taken, read
([2], [1, 3], {('tax', 0): 3})
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, MutableMapping
from dataclasses import dataclass, field
from typing import Any

YIELD_EVERY = 100  # records taken between two turns of the event loop (faust's own pace)

GetMany = Callable[..., AsyncIterator[tuple[Any, Any]]]


def taking_inputs(
    getmany: GetMany, inputs: Collection[str], take: Callable[[Any], None], read_offsets: MutableMapping[Any, Any]
) -> GetMany:
    """``getmany`` with the records of ``inputs`` handed to ``take`` instead of yielded.

    ``read_offsets`` (faust's, per partition) is moved on as faust would after handing a
    record on: a seek back relies on it (:func:`streams.fetch_control.seek_fetching`).
    """

    async def getmany_others(timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        taken = 0
        async for tp, message in getmany(timeout=timeout):
            if message.topic not in inputs:
                yield tp, message
                continue
            take(message)
            read_offsets[tp] = message.offset
            taken += 1
            if taken % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a large fetch must not hold up the batches and the client

    return getmany_others


@dataclass
class Intake:
    """Records taken into the merge since the worker last looked at it."""

    full: asyncio.Event = field(default_factory=asyncio.Event)  # a whole batch is waiting
    taken: int = 0


async def wake_within(seconds: float, *events: asyncio.Event) -> None:
    """Return once any of ``events`` is set, or after ``seconds``.

    >>> async def woken():
    ...     news = asyncio.Event()
    ...     asyncio.get_running_loop().call_later(0.01, news.set)
    ...     await wake_within(60.0, asyncio.Event(), news)
    ...     return news.is_set()
    >>> asyncio.run(woken())
    True
    """
    if any(e.is_set() for e in events):
        return
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
