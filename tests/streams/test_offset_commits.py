"""Step 4's bookkeeping: one commit in flight at a time, nothing dropped when a commit fails."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from streams.offset_commits import OffsetCommits


class TP(NamedTuple):
    topic: str
    partition: int


class Message(NamedTuple):
    tp: TP
    offset: int


A, B = TP("tax", 0), TP("tax", 1)


class Broker:
    """Commits that wait until released, and can be told to fail."""

    def __init__(self) -> None:
        self.asked: list[dict[Any, int]] = []
        self.release = asyncio.Event()
        self.fail = False

    async def commit(self, offsets: dict[Any, int]) -> None:
        self.asked.append(dict(offsets))
        await self.release.wait()
        if self.fail:
            raise RuntimeError("coordinator not available")


def test_acks_keep_the_next_offset_per_partition() -> None:
    async def run() -> dict[Any, int]:
        commits = OffsetCommits(Broker().commit)
        for message in (Message(A, 4), Message(A, 9), Message(B, 2), Message(A, 7)):
            await commits.ack(message)
        return commits.pending

    assert asyncio.run(run()) == {A: 10, B: 3}


def test_one_commit_in_flight_and_the_later_offsets_wait_for_the_next() -> None:
    async def run() -> tuple[list[dict[Any, int]], dict[Any, int]]:
        broker = Broker()
        commits = OffsetCommits(broker.commit)
        await commits.ack(Message(A, 4))
        await commits.commit()
        await asyncio.sleep(0)  # the commit is under way, not yet answered
        await commits.ack(Message(A, 8))
        await commits.commit()  # one in flight: this one waits
        await asyncio.sleep(0)
        asked = list(broker.asked)
        broker.release.set()
        await commits.settle()  # the one in flight, then what waited
        return asked, commits.pending

    asked, pending = asyncio.run(run())
    assert asked == [{A: 5}]
    assert pending == {}


def test_settle_commits_what_waited() -> None:
    async def run() -> list[dict[Any, int]]:
        broker = Broker()
        broker.release.set()
        commits = OffsetCommits(broker.commit)
        await commits.ack(Message(A, 4))
        await commits.commit()
        await commits.ack(Message(B, 1))
        await commits.settle()
        return broker.asked

    assert asyncio.run(run()) == [{A: 5}, {B: 2}]


def test_a_failed_commit_keeps_its_offsets_for_the_next_try() -> None:
    async def run() -> tuple[dict[Any, int], list[dict[Any, int]]]:
        broker = Broker()
        broker.release.set()
        broker.fail = True
        commits = OffsetCommits(broker.commit)
        await commits.ack(Message(A, 4))
        await commits.ack(Message(B, 6))
        await commits.settle()
        kept = dict(commits.pending)
        broker.fail = False
        await commits.ack(Message(A, 5))
        await commits.settle()
        return kept, broker.asked

    kept, asked = asyncio.run(run())
    assert kept == {A: 5, B: 7}
    assert asked[-1] == {A: 6, B: 7}


def test_revoked_partitions_are_forgotten() -> None:
    async def run() -> dict[Any, int]:
        commits = OffsetCommits(Broker().commit)
        await commits.ack(Message(A, 4))
        await commits.ack(Message(B, 6))
        commits.forget({1})
        return commits.pending

    assert asyncio.run(run()) == {A: 5}
