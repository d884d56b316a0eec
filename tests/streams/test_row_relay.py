"""Rows relayed to the worker that holds chDB arrive with the values and types they left with."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from streams import row_relay
from streams.row_relay import decode_columns, encode_columns
from streams.row_writer import group_inserts

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_values_keep_their_types_and_instants() -> None:
    columns = [
        ["91330100MA2H3LXX0X", "92330100MA2H3LXX0Y"],
        [datetime(2026, 3, 17, 9, 30, 1, 123456, tzinfo=SHANGHAI), datetime(2026, 3, 17, 1, 0, tzinfo=UTC)],
        [date(2026, 3, 1), date(2026, 4, 1)],
        [Decimal("1234567.89"), None],
        [True, None],
        [0.1 + 0.2, 3.0],
        [["a", "b"], []],
        [b"\x00\xff", b""],
    ]
    [message] = encode_columns("events", columns, [f"c{i}" for i in range(len(columns))])
    table, back, names = decode_columns(message)
    assert table == "events" and names == [f"c{i}" for i in range(len(columns))]
    assert back == columns
    assert [type(v) for c in back for v in c] == [type(v) for c in columns for v in c]
    assert back[1][0].utcoffset() == columns[1][0].utcoffset()


def test_a_large_insert_is_split_into_messages_that_join_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_relay, "MAX_MESSAGE_BYTES", 2_000)
    columns = [[f"row-{i}" * 10 for i in range(300)], list(range(300))]
    messages = encode_columns("scores", columns, ["payload", "n"])
    assert len(messages) > 10 and all(len(m) <= 2_000 for m in messages)
    other = encode_columns("alerts", [["x"]], ["id"])
    inserts = group_inserts([*messages, *other, *messages[:1]])
    assert [(t, len(c[0])) for t, c, _ in inserts] == [
        ("scores", 300),
        ("alerts", 1),
        ("scores", len(decode_columns(messages[0])[1][0])),
    ]
    assert inserts[0][1] == columns
