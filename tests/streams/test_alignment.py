"""The event-time merge of the worker's input partitions (streams.alignment)."""

from __future__ import annotations

from streams.alignment import EventTimeAligner, Record

TOPICS = ("reg", "tax", "ss")


def everything_fetched(topic: str, partition: int, next_offset: int) -> bool:
    return True


def record(topic: str, partition: int, offset: int, t: float, received: float = 0.0) -> Record:
    return Record(topic, partition, offset, t, f"{topic}{partition}@{offset}", received)


def items(records: list[Record]) -> list[str]:
    return [r.item for r in records]


def test_records_of_all_partitions_are_merged_by_event_time() -> None:
    aligner = EventTimeAligner(TOPICS)
    for r in [record("tax", 0, 0, 1.0), record("tax", 0, 1, 4.0), record("tax", 1, 0, 2.0),
              record("ss", 1, 0, 3.0), record("reg", 0, 0, 2.0)]:  # fmt: skip
        aligner.add(r)
    assert items(aligner.release(everything_fetched, now=0.0)) == ["tax0@0", "reg0@0", "tax1@0", "ss1@0", "tax0@1"]
    assert aligner.held == 0


def test_an_assigned_partition_with_records_to_fetch_holds_the_others_until_max_idle() -> None:
    aligner = EventTimeAligner(TOPICS, max_idle=5.0)
    aligner.assign({0, 1})
    aligner.add(record("tax", 0, 0, 1.0))

    def lagging_partition_1(topic: str, partition: int, next_offset: int) -> bool:
        return partition != 1  # partition 1 of every topic still has records on the broker

    assert aligner.release(lagging_partition_1, now=100.0) == []
    assert aligner.release(lagging_partition_1, now=104.0) == []
    assert items(aligner.release(lagging_partition_1, now=105.0)) == ["tax0@0"]
    assert aligner.idled == 1


def test_time_spent_processing_does_not_count_as_silence() -> None:
    aligner = EventTimeAligner(TOPICS, max_idle=5.0)
    aligner.assign({0})
    aligner.add(record("tax", 0, 0, 1.0))

    def reg_lags(topic: str, partition: int, next_offset: int) -> bool:
        return topic != "reg"

    assert aligner.release(reg_lags, now=0.0) == []
    aligner.extend_waits(4.0)
    assert aligner.release(reg_lags, now=6.0) == []
    assert len(aligner.release(reg_lags, now=9.0)) == 1


def test_past_max_held_the_earliest_head_goes_without_waiting() -> None:
    aligner = EventTimeAligner(TOPICS, max_idle=60.0, max_held=2)
    aligner.assign({0})
    for offset in range(4):
        aligner.add(record("tax", 0, offset, float(offset)))

    def reg_lags(topic: str, partition: int, next_offset: int) -> bool:
        return topic != "reg"

    assert items(aligner.release(reg_lags, now=0.0)) == ["tax0@0", "tax0@1"]
    assert aligner.forced == 2 and aligner.held == 2


def test_a_caught_up_empty_partition_gets_settle_seconds_before_a_record_goes() -> None:
    aligner = EventTimeAligner(TOPICS, settle=0.2)
    aligner.assign({0})
    aligner.add(record("tax", 0, 0, 1.0, received=10.0))
    assert aligner.release(everything_fetched, now=10.1) == []
    assert items(aligner.release(everything_fetched, now=10.25)) == ["tax0@0"]


def test_revoked_partitions_are_forgotten_and_no_longer_hold_the_merge() -> None:
    aligner = EventTimeAligner(TOPICS, max_idle=60.0)
    aligner.assign({0, 1})
    aligner.add(record("tax", 0, 0, 1.0))
    aligner.add(record("tax", 1, 0, 0.5))
    assert items(aligner.forget({1})) == ["tax1@0"]

    def partition_1_lags(topic: str, partition: int, next_offset: int) -> bool:
        return partition != 1

    assert items(aligner.release(partition_1_lags, now=0.0)) == ["tax0@0"]
    assert aligner.empty() == [("reg", 0), ("tax", 0), ("ss", 0)]


def test_after_an_idle_release_another_partition_running_dry_is_waited_for_afresh() -> None:
    aligner = EventTimeAligner(TOPICS, max_idle=5.0)
    aligner.assign({0, 1})
    aligner.add(record("tax", 0, 0, 1.0))
    aligner.add(record("ss", 0, 0, 2.0))
    aligner.add(record("ss", 0, 1, 3.0))

    lagging = {("tax", 1)}

    def fetched(topic: str, partition: int, next_offset: int) -> bool:
        return (topic, partition) not in lagging

    assert aligner.release(fetched, now=0.0) == []
    lagging.add(("tax", 0))  # once tax0@0 goes, tax 0 has more on the broker too
    assert items(aligner.release(fetched, now=5.0)) == ["tax0@0"]  # then waits for tax 0 again
    assert aligner.silent == [("tax", 1)]
    assert aligner.release(fetched, now=9.0) == []
    assert items(aligner.release(fetched, now=10.0)) == ["ss0@0", "ss0@1"]
    assert aligner.idled == 2


def test_the_group_limit_holds_records_at_or_past_it_until_max_idle() -> None:
    aligner = EventTimeAligner(TOPICS, max_idle=5.0)
    for r in [record("tax", 0, 0, 1.0), record("tax", 0, 1, 4.0), record("reg", 0, 0, 6.0)]:
        aligner.add(r)
    assert items(aligner.release(everything_fetched, now=100.0, limit=4.0)) == ["tax0@0"]
    assert aligner.frontier(everything_fetched) == (4.0, 1, 0, 1)  # the head that waits
    assert items(aligner.release(everything_fetched, now=101.0, limit=5.0)) == ["tax0@1"]  # then waits
    assert aligner.release(everything_fetched, now=105.9, limit=5.0) == []
    assert items(aligner.release(everything_fetched, now=106.0, limit=5.0)) == ["reg0@0"]  # one more
    assert aligner.awaited_group == 1
    assert aligner.frontier(everything_fetched) == (6.0, 0, 0, 0)  # all released, nothing to fetch: the last


def test_caught_up_the_frontier_stays_at_the_last_record_released_until_a_new_head_settles() -> None:
    """Live, a worker that has read everything does not let the group past a close it has
    not seen: a partition caught up at its last fetch may yet bring a record before it."""
    aligner = EventTimeAligner(TOPICS, settle=0.2)
    aligner.assign({0})
    assert aligner.frontier(everything_fetched, now=0.0) is None  # nothing ever here: bounds nobody
    aligner.add(record("tax", 0, 0, 8.0, received=0.0))
    assert aligner.frontier(everything_fetched, now=0.1) == (float("-inf"), -1, -1, -1)
    assert items(aligner.release(everything_fetched, now=0.2)) == ["tax0@0"]
    assert aligner.frontier(everything_fetched, now=5.0) == (8.0, 1, 0, 0)  # not None: more may come
    aligner.add(record("tax", 0, 1, 12.0, received=6.0))
    assert aligner.frontier(everything_fetched, now=6.1) == (8.0, 1, 0, 0)  # reg or ss may bring earlier
    assert aligner.frontier(everything_fetched, now=6.2) == (12.0, 1, 0, 1)


def test_a_lead_lets_that_many_records_past_the_limit_until_it_moves() -> None:
    aligner = EventTimeAligner(TOPICS, max_idle=5.0)
    for offset in range(6):
        aligner.add(record("tax", 0, offset, 10.0 + offset))
    assert items(aligner.release(everything_fetched, now=0.0, limit=11.0, lead=2)) == ["tax0@0", "tax0@1", "tax0@2"]
    assert aligner.release(everything_fetched, now=1.0, limit=11.0, lead=2) == []
    assert items(aligner.release(everything_fetched, now=2.0, limit=12.5, lead=2)) == ["tax0@3", "tax0@4"]


def test_the_frontier_of_a_partition_still_fetching_is_its_last_released_record() -> None:
    aligner = EventTimeAligner(TOPICS)
    aligner.assign({0})
    aligner.add(record("tax", 0, 0, 1.0))

    def tax_fetching(topic: str, partition: int, next_offset: int) -> bool:
        return topic != "tax"

    assert aligner.frontier(tax_fetching) == (1.0, 1, 0, 0)
    assert items(aligner.release(tax_fetching, now=0.0)) == ["tax0@0"]
    assert aligner.frontier(tax_fetching) == (1.0, 1, 0, 0)
    aligner.forget({0})
    aligner.assign({0})
    assert aligner.frontier(tax_fetching) == (float("-inf"), -1, -1, -1)  # nothing known of it yet


def test_with_close_periods_a_record_goes_once_the_group_reached_its_period() -> None:
    aligner = EventTimeAligner(TOPICS, max_idle=5.0, period=lambda t: int(t // 10))
    for offset, t in enumerate([3.0, 8.0, 12.0, 15.0, 21.0, 22.0]):
        aligner.add(record("tax", 0, offset, t))
    # the others are at 5.0, inside period 0: all of period 0 goes, even past 5.0
    assert items(aligner.release(everything_fetched, now=0.0, limit=5.0)) == ["tax0@0", "tax0@1"]
    assert aligner.release(everything_fetched, now=1.0, limit=9.9) == []  # still period 0: waits
    assert items(aligner.release(everything_fetched, now=2.0, limit=10.0)) == ["tax0@2", "tax0@3"]
    assert aligner.awaited_group == 0
    assert aligner.release(everything_fetched, now=2.5, limit=float("-inf")) == []  # a partition nobody claimed
    # nobody moves for max_idle: a batch goes (lead_after_wait), not one record per wait
    assert aligner.release(everything_fetched, now=3.0, limit=10.0, lead_after_wait=2) == []
    assert items(aligner.release(everything_fetched, now=8.0, limit=10.0, lead_after_wait=2)) == ["tax0@4", "tax0@5"]
    assert aligner.awaited_group == 1


def test_the_queue_limit_keeps_every_owned_queue_full_within_max_held() -> None:
    aligner = EventTimeAligner(("reg", "tax", "invoice"), max_held=50_000)
    aligner.assign({0, 1, 2, 3})  # 12 queues
    assert aligner.queue_limit(4_000) == 4_000
    assert aligner.queue_limit(8_000) == 50_000 // 12
    aligner.assign({4, 5, 6, 7})  # a rebalance gave it more partitions: each holds less
    assert aligner.queue_limit(8_000) == 50_000 // 24
    aligner.forget({4, 5, 6, 7})
    assert aligner.queue_limit(8_000) == 50_000 // 12
    tiny = EventTimeAligner(("reg",), max_held=3)
    tiny.assign({0, 1, 2, 3})
    assert tiny.queue_limit(4_000) == 2  # a queue always holds some


def test_at_most_one_batch_goes_at_a_time_and_the_rest_follows_in_the_same_order() -> None:
    def filled() -> EventTimeAligner:
        aligner = EventTimeAligner(TOPICS)
        for n in range(5):
            aligner.add(record("tax", 0, n, float(2 * n)))
            aligner.add(record("ss", 1, n, float(2 * n + 1)))
        return aligner

    whole = items(filled().release(everything_fetched, now=0.0))
    capped = filled()
    batches = [items(capped.release(everything_fetched, now=0.0, most=3)) for _ in range(5)]
    assert [len(b) for b in batches] == [3, 3, 3, 1, 0]
    assert [i for b in batches for i in b] == whole
    assert capped.held == 0


def test_the_settle_counts_only_time_in_which_records_could_arrive() -> None:
    """A batch processed in the event loop takes no record: a tax record produced before the
    head may still be in the fetch the loop has not iterated yet."""
    aligner = EventTimeAligner(TOPICS, settle=0.2)
    aligner.assign({0})
    aligner.add(record("reg", 0, 0, 5.0, received=0.0))
    aligner.blocked_for(0.5)  # a batch from 0.0 to 0.5
    assert aligner.release(everything_fetched, now=0.6) == []  # only 0.1 s in which tax could come
    aligner.add(Record("tax", 0, 0, 4.0, "tax0@0", received=0.6, busy=aligner.busy))
    assert items(aligner.release(everything_fetched, now=0.8)) == ["tax0@0", "reg0@0"]
    assert aligner.out_of_order == 0


def test_a_record_arriving_after_a_later_one_went_is_counted_out_of_order() -> None:
    aligner = EventTimeAligner(TOPICS, settle=0.2)
    aligner.assign({0})
    aligner.add(record("reg", 0, 0, 5.0, received=0.0))
    assert items(aligner.release(everything_fetched, now=0.3)) == ["reg0@0"]
    aligner.add(record("tax", 0, 0, 4.0, received=0.4))
    aligner.add(record("tax", 0, 1, 6.0, received=0.4))
    assert aligner.out_of_order == 1


def test_confirming_a_head_passes_a_caught_up_partition_once_the_broker_said_so_after_the_settle() -> None:
    """The consumer's view of a partition can be a second old: the broker, asked after the
    settle time, says whether everything of it was taken."""
    aligner = EventTimeAligner(TOPICS, settle=0.2)
    aligner.confirm_within = 2.0
    aligner.assign({0})
    aligner.add(record("tax", 0, 0, 5.0, received=0.0))
    aligner.confirm([("reg", 0), ("ss", 0)], asked_at=0.1)  # before the settle time: not enough
    assert aligner.release(everything_fetched, now=0.3) == []
    assert aligner.unconfirmed == [("reg", 0), ("ss", 0)]
    assert aligner.frontier(everything_fetched, now=0.3) == (float("-inf"), -1, -1, -1)
    aligner.confirm([("reg", 0), ("ss", 0)], asked_at=0.25)
    assert items(aligner.release(everything_fetched, now=0.3)) == ["tax0@0"]
    aligner.add(record("tax", 0, 1, 6.0, received=1.0))
    assert aligner.release(everything_fetched, now=3.1) == []  # no answer yet: waits ...
    assert items(aligner.release(everything_fetched, now=3.2)) == ["tax0@1"]  # ... settle + 2 s at most
