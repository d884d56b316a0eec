"""Real broker, real worker process, real chDB: events in → rows, alerts, dead letters out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from factories import encode, invoice, make_uscc, monthly_value, registration, social_security, vat
from worker_fixtures import WorkerProcess, isolated_env, produce, read_topic

pytestmark = pytest.mark.kafka


@pytest.fixture
def worker_env(tmp_path: Path, kafka_bootstrap: str) -> dict[str, str]:
    return isolated_env(tmp_path, kafka_bootstrap)


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(worker_env, tmp_path / "worker.log")
    yield proc
    proc.stop()


def park(n: int) -> list[tuple[str, str, bytes]]:
    """n enterprises with an establishment, 3 VAT, 3 SS filings and 2 invoice days each."""
    out = []
    for i in range(n):
        u = make_uscc(i)
        out.append(("registration", u, encode(registration(u, f"r{i}"))))
        for m in (3, 4, 5):
            out.append(("tax", u, encode(vat(u, f"t{i}-{m}", f"2026-0{m}", revenue=f"{1000 * (i + m)}.00"))))
            out.append(("social_security", u, encode(social_security(u, f"s{i}-{m}", f"2026-0{m}", 10 + m))))
        out.append(("tax", u, encode(invoice(u, f"i{i}-1", "2026-05-06"))))
        out.append(("tax", u, encode(invoice(u, f"i{i}-2", "2026-05-07"))))
    return out


def malformed(n: int) -> list[tuple[str, str, bytes]]:
    u = make_uscc(0)
    bad = [
        ("tax", u, b'{"truncated'),
        ("tax", u, encode(vat(u[:-1] + ("1" if u[-1] != "1" else "2"), "bad-uscc", "2026-03"))),
        ("social_security", u, encode(social_security(u, "neg", "2026-03") | {"paid": "-1.00"})),
        ("registration", u, orjson.dumps({"kind": "weather"})),
    ]
    return bad[:n]


def test_events_flow_to_clickhouse_alerts_and_dead_letters(worker: WorkerProcess) -> None:
    settings = worker.settings
    good = park(12)
    exits = [("registration", make_uscc(i), encode(registration(make_uscc(i), f"x{i}", change="status", status="moved_out")))
             for i in (2, 5)]  # fmt: skip
    bad = malformed(4)
    dup = [good[1], good[2]]  # the same bytes again
    total = produce(settings, good + exits + bad + dup)
    worker.start()
    worker.wait_for(lambda: worker.counts()["consumed"] >= total, what="all messages consumed")
    counts = worker.counts()
    assert counts["consumed"] == total
    assert counts["applied"] == len(good) + len(exits)
    assert counts["duplicate"] == len(dup)
    assert counts["dead_letter"] == len(bad)
    assert counts["consumed"] == counts["applied"] + counts["duplicate"] + counts["dead_letter"]

    assert worker.query("SELECT count() FROM events FINAL") == [[len(good) + len(exits)]]
    assert worker.query("SELECT count() FROM enterprise_snapshot FINAL") == [[12]]
    assert worker.query("SELECT count() FROM dead_letters FINAL") == [[len(bad)]]
    moved = worker.query("SELECT uscc FROM enterprise_snapshot FINAL WHERE status = 'moved_out' ORDER BY uscc")
    assert moved == [[make_uscc(2)], [make_uscc(5)]]
    kinds = dict(map(tuple, worker.query("SELECT kind, count() FROM events FINAL GROUP BY kind")))  # type: ignore[arg-type]
    assert kinds == {"registration": 14, "tax": 12 * 5, "social_security": 12 * 3}
    alert_rows = worker.query("SELECT uscc, alert_type, state FROM alerts FINAL ORDER BY uscc, alert_type")
    assert alert_rows == [[make_uscc(u), kind, "firing"] for u in (2, 5) for kind in ("relocation", "situation")]

    messages = read_topic(settings.kafka.bootstrap_servers, settings.kafka.topics.alerts, expect=4)
    everything = [orjson.loads(m.value()) for m in messages]
    alerts = [a for a in everything if a["alert_type"] == "relocation"]
    assert sorted(a["uscc"] for a in alerts) == [make_uscc(2), make_uscc(5)]
    assert all(a["state"] == "firing" and a["evidence"]["status"] == "moved_out" for a in alerts)
    assert all(a["explanation_zh"] and a["explanation_en"] and a["event_ids"] for a in everything)
    situations = [a for a in everything if a["alert_type"] == "situation"]  # one per enterprise, made of it
    assert sorted((a["uscc"], a["evidence"]["diagnosis"]) for a in situations) == [
        (make_uscc(2), "relocation"), (make_uscc(5), "relocation")]

    letters = read_topic(settings.kafka.bootstrap_servers, settings.kafka.topics.deadletter, expect=len(bad))
    decoded = [orjson.loads(m.value()) for m in letters]
    types = sorted(d["reasons"][0]["type"] for d in decoded)
    assert types == sorted(["json", "value_error", "greater_than_equal", "enum"])
    assert all(d["topic"].startswith("t") and d["offset"] >= 0 for d in decoded)

    invoices = 12 * 2  # daily invoice summaries update the state but are not re-scored
    scored = len(good) + len(exits) - invoices
    scores = read_topic(settings.kafka.bootstrap_servers, settings.kafka.topics.scores, expect=scored)
    assert len(scores) == scored
    assert all(orjson.loads(m.value())["model_version"] for m in scores)
    assert worker.query("SELECT count() FROM scores FINAL") == [[scored]]

    state = worker.get_json(f"/api/enterprises/{make_uscc(3)}")
    assert state["counts"] == {"registration": 1, "tax": 5, "social_security": 3}
    assert monthly_value(state, "revenue", "2026-05") == 8000
