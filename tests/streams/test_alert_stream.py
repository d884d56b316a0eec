"""AlertBroadcaster: sequence ids, the bounded ring, resuming after Last-Event-ID, fan-out."""

from __future__ import annotations

import asyncio

import pytest

from streams.alert_stream import AlertBroadcaster, parse_last_event_id


def alert(i: int) -> bytes:
    return f'{{"alert_id":"a{i}","version":1}}'.encode()


def test_sequence_ids_increase_by_one_from_one() -> None:
    b = AlertBroadcaster()
    assert b.last_seq == 0
    assert [b.publish(alert(i)) for i in range(5)] == [1, 2, 3, 4, 5]
    assert b.last_seq == 5


def test_since_returns_the_alerts_after_an_id_oldest_first() -> None:
    b = AlertBroadcaster()
    for i in range(1, 6):
        b.publish(alert(i))
    assert [(x.seq, x.data) for x in b.since(3)] == [(4, alert(4)), (5, alert(5))]
    assert [x.seq for x in b.since(0)] == [1, 2, 3, 4, 5]
    assert b.since(5) == []


def test_ring_keeps_only_the_last_capacity_alerts() -> None:
    b = AlertBroadcaster(capacity=3)
    for i in range(1, 11):
        b.publish(alert(i))
    assert [x.seq for x in b.since(0)] == [8, 9, 10]
    assert [x.seq for x in b.since(2)] == [8, 9, 10]  # fell behind the ring: what is left
    assert [x.seq for x in b.since(8)] == [9, 10]


def test_an_id_from_an_earlier_run_gets_the_whole_buffer() -> None:
    b = AlertBroadcaster()
    b.publish(alert(1))
    b.publish(alert(2))
    assert [x.seq for x in b.since(9999)] == [1, 2]


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), (" 42 ", 42), ("0", 0), ("-1", None), ("abc", None)],
)
def test_parse_last_event_id(header: str | None, expected: int | None) -> None:
    assert parse_last_event_id(header) == expected


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        AlertBroadcaster(capacity=0)


async def _collect(sub: object, n: int) -> list[int]:
    out = []
    async for item in sub:  # type: ignore[attr-defined]
        out.append(item.seq)
        if len(out) == n:
            break
    return out


def test_subscriber_gets_the_backlog_then_live_alerts() -> None:
    async def scenario() -> list[int]:
        b = AlertBroadcaster()
        for i in range(1, 4):
            b.publish(alert(i))
        async with b.subscribe(last_seq=1) as sub:
            task = asyncio.create_task(_collect(sub, 4))
            await asyncio.sleep(0)
            b.publish(alert(4))
            b.publish(alert(5))
            return await asyncio.wait_for(task, 5)

    assert asyncio.run(scenario()) == [2, 3, 4, 5]


def test_a_new_subscriber_without_an_id_gets_only_new_alerts() -> None:
    async def scenario() -> tuple[list[int], int]:
        b = AlertBroadcaster()
        b.publish(alert(1))
        async with b.subscribe() as sub:
            assert b.subscribers == 1
            b.publish(alert(2))
            got = await asyncio.wait_for(_collect(sub, 1), 5)
        return got, b.subscribers

    assert asyncio.run(scenario()) == ([2], 0)


def test_resume_after_disconnect_loses_nothing() -> None:
    async def scenario() -> list[int]:
        b = AlertBroadcaster()
        async with b.subscribe() as sub:
            b.publish(alert(1))
            b.publish(alert(2))
            seen = await asyncio.wait_for(_collect(sub, 1), 5)  # client drops after one
        b.publish(alert(3))  # published while disconnected
        async with b.subscribe(last_seq=seen[-1]) as again:
            b.publish(alert(4))
            return seen + await asyncio.wait_for(_collect(again, 3), 5)

    assert asyncio.run(scenario()) == [1, 2, 3, 4]


def test_a_slow_subscriber_is_ended_and_can_resume_from_the_ring() -> None:
    async def scenario() -> tuple[bool, list[int]]:
        b = AlertBroadcaster(capacity=100, subscriber_queue=2)
        sub = b.subscribe(last_seq=0)
        for i in range(1, 6):
            b.publish(alert(i))
        got = [item.seq async for item in sub]  # ends: it lagged
        lagged = sub.lagged
        sub.close()
        resumed = b.subscribe(last_seq=got[-1] if got else 0)
        rest = await asyncio.wait_for(_collect(resumed, 5), 5)
        return lagged, rest

    lagged, rest = asyncio.run(scenario())
    assert lagged
    assert rest == [1, 2, 3, 4, 5]


def test_next_times_out_and_close_ends_every_subscription() -> None:
    async def scenario() -> tuple[object, bool]:
        b = AlertBroadcaster()
        sub = b.subscribe()
        nothing = await sub.next(timeout=0.01)
        b.close()
        try:
            await sub.next(timeout=1)
        except StopAsyncIteration:
            return nothing, True
        return nothing, False

    assert asyncio.run(scenario()) == (None, True)
