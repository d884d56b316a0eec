"""The alert stream: cursors as event ids, filters, first copies only, live fan-out."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from config import Settings
from schemas.outputs import Severity
from streams.alert_stream import AlertFeed, AlertFilter, StreamedAlert, decode, format_cursor, parse_cursor


def item(partition: int, offset: int, alert_id: str, version: int = 1, **fields: object) -> StreamedAlert:
    alert = {"alert_id": alert_id, "version": version, "severity": "warning", "alert_type": "tax_collapse",
             "uscc": "U1", **fields}  # fmt: skip
    decoded = decode(partition, offset, orjson.dumps(alert))
    assert decoded is not None
    return decoded


def test_cursor_round_trip_puts_the_event_first() -> None:
    cursor = {0: 12, 1: -1, 2: 7}
    text = format_cursor(cursor, first=2)
    assert text.startswith("2:7,")
    assert parse_cursor(text) == cursor


@pytest.mark.parametrize("bad", ["", "12", "a:b", "0:1,x", "-1:3", "0:-2"])
def test_malformed_ids_mean_no_cursor(bad: str) -> None:
    assert parse_cursor(bad) is None


def test_filter_minimum_severity_type_uscc_district() -> None:
    f = AlertFilter.from_query({"severity": "warning", "type": "tax_collapse,layoff", "district": "3301"})
    assert f.min_severity is Severity.WARNING and f.types == ("tax_collapse", "layoff")
    base = {"severity": "warning", "alert_type": "layoff", "uscc": "U1"}
    assert f.wants(base, "330110")
    assert f.wants({**base, "severity": "critical"}, "330110")
    assert not f.wants({**base, "severity": "info"}, "330110")
    assert not f.wants({**base, "alert_type": "relocation"}, "330110")
    assert not f.wants(base, "320100")
    assert AlertFilter.from_query({"uscc": "U2"}).wants({**base, "uscc": "U2"})
    assert not AlertFilter.from_query({"uscc": "U2"}).wants(base)
    with pytest.raises(ValueError):
        AlertFilter.from_query({"severity": "loud"})


def test_only_the_first_copy_of_an_alert_version_counts() -> None:
    feed = AlertFeed(Settings().kafka)
    first, repeat, other_version = item(0, 5, "A1"), item(0, 9, "A1"), item(0, 10, "A1", version=2)
    assert feed.note(first) and not feed.note(repeat) and feed.note(other_version)
    assert feed.is_first(first) and not feed.is_first(repeat)
    assert feed.position == {0: 11}


def test_live_subscribers_get_first_copies_with_advancing_cursors() -> None:
    async def scenario() -> list[tuple[str, str]]:
        feed = AlertFeed(Settings().kafka)
        feed.position.update({0: 0, 1: 0})
        feed.ready.set()
        served = await feed.serve(None)
        got: list[tuple[str, str]] = []

        async def read() -> None:
            async for one, cursor in served:
                got.append((f"{one.identity[0]}:{one.identity[1]}", format_cursor(cursor, one.partition)))
                if len(got) == 3:
                    return

        task = asyncio.create_task(read())
        await asyncio.sleep(0.01)
        assert feed.subscribers == 1
        for one in (item(0, 0, "A1"), item(1, 0, "B1"), item(0, 1, "A1"), item(1, 1, "B1", version=2)):
            feed.publish(one)
        await asyncio.wait_for(task, 5)
        await served.aclose()
        assert feed.subscribers == 0
        return got

    assert asyncio.run(scenario()) == [("A1:1", "0:0,1:-1"), ("B1:1", "1:0,0:0"), ("B1:2", "1:1,0:0")]


def test_a_subscriber_too_far_behind_is_ended_and_close_ends_all() -> None:
    async def scenario() -> int:
        feed = AlertFeed(Settings().kafka, subscriber_queue=2)
        feed.position[0] = 0
        feed.ready.set()
        served = await feed.serve(None)
        first = asyncio.create_task(served.__anext__())
        await asyncio.sleep(0.01)
        for n in range(5):
            feed.publish(item(0, n, f"A{n}"))
        with pytest.raises(StopAsyncIteration):  # queue overflowed: woken with the end marker
            await asyncio.wait_for(first, 5)
        feed.close()
        return feed.subscribers

    assert asyncio.run(scenario()) == 0
