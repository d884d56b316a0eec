"""The model feed's bookkeeping (streams.model_feed): order, frontiers, the checkpoint position."""

from __future__ import annotations

from config import KafkaSettings
from detectors.models import OnlineModels
from detectors.scoring.scorer import Learning
from streams.model_feed import Frontier, ModelFeed, encode, encode_frontier


def learning(uscc: str, value: float) -> Learning:
    return Learning(uscc, ("C|small", "*|small", "*"), {"revenue_annual": value}, None, False, 24_300)


def feed_of(worker: str = "me") -> ModelFeed:
    return ModelFeed(KafkaSettings(), "test-model-feed", worker, OnlineModels())


def test_other_workers_entries_are_learned_in_merge_order_before_each_record() -> None:
    feed = feed_of()
    feed.arrived.extend([
        (0, encode(learning("B2", 2.0), "other", (20.0, 0, 1, 0))),
        (1, encode(learning("B1", 1.0), "other", (10.0, 0, 1, 0))),
        (2, encode(learning("MINE", 9.0), "me", (5.0, 0, 0, 0))),  # learned when this worker scored it
        (3, b"not an entry"),
    ])  # fmt: skip
    feed.take_arrived()
    assert feed.skipped == 1 and len(feed.pending) == 2
    assert feed.models.feed_offset == 0  # B2 (offset 0) is not learned yet: a restart reads from there
    assert feed.learn_before((15.0, 0, 0, 3)) == 1
    peers = feed.models.scorer.peers
    assert set(peers.where) == {"B1"}
    feed.mark_position()
    assert feed.models.feed_offset == 0
    assert feed.learn_before((20.0, 0, 1, 0)) == 0  # not before itself
    assert feed.learn_before((25.0, 0, 0, 4)) == 1
    feed.mark_position()
    assert set(peers.where) == {"B1", "B2"} and feed.models.feed_offset == 4


def test_every_earlier_entry_is_learned_before_a_record_however_many_wait() -> None:
    feed = feed_of()
    feed.arrived.extend((i, encode(learning(f"B{i}", float(i)), "other", (100.0 - i, 0, 1, i))) for i in range(30))
    feed.take_arrived()
    assert feed.learn_before((90.0, 0, 0, 0)) == 19  # those at 71.0 … 89.0: all, in one call
    assert len(feed.pending) == 11 and min(p[0] for p in feed.pending) == (90.0, 0, 1, 10)
    assert feed.learn_before((1_000.0, 0, 0, 1)) == 11


def test_the_limit_is_the_earliest_frontier_of_the_partitions_held_elsewhere() -> None:
    feed = feed_of()
    assert feed.limit({0, 1}, 4) == float("-inf")  # nobody has said anything of 2 and 3 yet: wait
    assert feed.limit({0, 1, 2, 3}, 4) is None  # a worker alone
    feed.arrived.extend([
        (0, encode_frontier(Frontier("w2", (100.0, 0, 2, 5), (2,)))),
        (1, encode_frontier(Frontier("w3", None, (3,)))),  # caught up: no bound
        (2, encode_frontier(Frontier("me", (1.0, 0, 0, 0), (0, 1)))),  # its own: for partitions it holds
    ])  # fmt: skip
    feed.take_arrived()
    assert feed.limit({0, 1}, 4) == 100.0
    assert feed.limit({1}, 4) == 1.0  # a partition it gave up: its own last frontier until the new owner's
    feed.arrived.append((3, encode_frontier(Frontier("w2", (150.0, 0, 2, 9), (2, 3)))))
    feed.take_arrived()
    assert feed.limit({0, 1}, 4) == 150.0


def test_a_frontier_is_published_when_it_changed_and_every_few_seconds() -> None:
    feed = feed_of()
    assert feed.frontier_to_publish((1.0, 0, 0, 0), {0}, now=100.0) == Frontier("me", (1.0, 0, 0, 0), (0,))
    assert feed.frontier_to_publish((1.0, 0, 0, 0), {0}, now=101.0) is None
    assert feed.frontier_to_publish((1.0, 0, 0, 0), {0, 1}, now=102.0) is not None
    assert feed.frontier_to_publish((1.0, 0, 0, 0), {0, 1}, now=106.9) is None
    assert feed.frontier_to_publish((1.0, 0, 0, 0), {0, 1}, now=107.0) is not None


def test_an_entry_arriving_after_its_close_was_crossed_here_is_counted_late() -> None:
    feed = feed_of()
    feed.period = lambda t: int(t // 10)
    feed.arrived.append((0, encode(learning("B1", 1.0), "other", (8.0, 0, 1, 0))))
    feed.take_arrived()
    feed.learn_before((12.0, 0, 0, 0))  # this worker crosses into period 1 with B1 learned
    feed.arrived.extend([
        (1, encode(learning("B2", 2.0), "other", (15.0, 0, 1, 1))),  # period 1: within the period, in time
        (2, encode(learning("B3", 3.0), "other", (9.0, 0, 1, 2))),  # period 0, after the close: late
        (3, encode(learning("MINE", 9.0), "me", (5.0, 0, 0, 1))),  # its own are never late
    ])  # fmt: skip
    feed.take_arrived()
    assert feed.late == 1
