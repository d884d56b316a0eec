"""The notifier against a real broker, a real worker and local receivers.

Alerts are produced straight to the isolated alerts topic (the notifier's input); the
subscriptions and silences are written to their compacted topics before the worker starts.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from schemas import Alert
from schemas.delivery import Silence, group_key
from sinks.channels import verify_signature
from streams.compacted import put, read_all
from streams.kafka_admin import ensure_topics, make_producer
from tests.delivery_fixtures import T0, Receiver, make_alert, subscription
from tests.integration.worker_fixtures import WorkerProcess, isolated_env, settings_from


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    yield {
        **isolated_env(tmp_path, kafka_bootstrap),
        "ENTBRAIN_NOTIFIER__RETRY_INITIAL_SECONDS": "0.05",
        "ENTBRAIN_NOTIFIER__RETRY_MAX_SECONDS": "0.3",
        "ENTBRAIN_NOTIFIER__MAX_AGE_SECONDS": "60",
    }


def produce_alerts(env: dict[str, str], alerts: list[Alert]) -> None:
    settings = settings_from(env)
    ensure_topics(settings.kafka)
    producer = make_producer(settings.kafka)
    for alert in alerts:
        producer.produce(settings.kafka.topics.alerts, key=alert.uscc.encode(), value=alert.model_dump_json().encode())
    assert producer.flush(30) == 0


def until(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(what)


@pytest.mark.parametrize("parallel", [1, 4])
def test_killed_mid_delivery_and_restarted_delivers_each_exactly_once(
    env: dict[str, str], tmp_path: Path, parallel: int
) -> None:
    env = {**env, "ENTBRAIN_NOTIFIER__PARALLEL_PER_SUBSCRIPTION": str(parallel)}
    settings = settings_from(env)
    receiver = Receiver(delay=0.15).start_thread()
    subs = [subscription(f"s{i}", receiver.url) for i in (1, 2)]
    ensure_topics(settings.kafka)
    for sub in subs:
        put(settings.kafka, settings.kafka.topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))
    alerts = [make_alert(n) for n in range(1, 16 * parallel)]
    produce_alerts(env, alerts)
    expected = {f"{s.id}:{a.alert_id}:{a.version}" for s in subs for a in alerts}

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        until(lambda: len(receiver.delivered_keys()) >= 8, 120, "the first deliveries")
        worker.kill()  # SIGKILL, deliveries in flight
        before = len(receiver.delivered_keys())
        assert before < len(expected), "everything was delivered before the kill; the test proves nothing"
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        until(lambda: set(receiver.delivered_keys()) >= expected, 120, "every notification after the restart")
        time.sleep(2.0)  # nothing more may arrive
    finally:
        worker.stop()
    delivered = Counter(receiver.delivered_keys())
    assert set(delivered) == expected
    # Only what was not yet durable at the kill may come twice, same key: per subscription the
    # notifications in flight, each holding its place until the ledger acknowledged it.
    assert sum(delivered.values()) - len(expected) <= parallel * len(subs)
    assert all(sum(n - 1 for k, n in delivered.items() if k.startswith(f"{s.id}:")) <= parallel for s in subs)
    ledger = read_all(settings.kafka, settings.kafka.topics.notifications_ledger)
    assert {k for k in ledger if k.count(":") == 2} == expected
    assert all(orjson.loads(ledger[k])["status"] == "delivered" for k in expected)


def test_an_enterprise_being_retried_holds_up_no_other_and_keeps_its_order(env: dict[str, str],
                                                                          tmp_path: Path) -> None:  # fmt: skip
    settings = settings_from(env)
    others = [make_alert(n) for n in range(2, 8)]
    refused_since: list[float] = []

    def refuse(key: str) -> bool:
        """A0001 is refused until every other enterprise was delivered (or 20 s went by)."""
        if not key.startswith("ops:A0001:"):
            return False
        refused_since.append(time.monotonic())
        delivered = set(receiver.delivered_keys())
        return not all(f"ops:{a.alert_id}:1" in delivered for a in others) and time.monotonic() - refused_since[0] < 20

    receiver = Receiver(refuse=refuse).start_thread()
    sub = subscription("ops", receiver.url)
    ensure_topics(settings.kafka)
    put(settings.kafka, settings.kafka.topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))
    produce_alerts(env, [make_alert(1), make_alert(1, state="resolved", version=2)])
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        until(lambda: bool(refused_since), 120, "the first refusal")
        produce_alerts(env, others)  # while A0001 is being retried
        until(lambda: len(set(receiver.delivered_keys())) == 8, 60, "every notification")
    finally:
        worker.stop()
    order = receiver.delivered_keys()
    assert Counter(order) == Counter(["ops:A0001:1", "ops:A0001:2", *(f"ops:{a.alert_id}:1" for a in others)])
    assert max(order.index(f"ops:{a.alert_id}:1") for a in others) < order.index("ops:A0001:1")
    assert order.index("ops:A0001:1") < order.index("ops:A0001:2")  # the resolution after its firing


def test_silence_and_failing_receiver(env: dict[str, str], tmp_path: Path) -> None:
    settings = settings_from(env)
    receiver = Receiver(fail_first=3, fail_status=500).start_thread()
    sub = subscription("ops", receiver.url)
    ensure_topics(settings.kafka)
    put(settings.kafka, settings.kafka.topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))
    quiet = Silence(id="maint", alert_types=["relocation"], starts_at=T0, ends_at=T0 + timedelta(days=1),
                    author="ops", reason="moving offices", created_at=T0)  # fmt: skip
    put(settings.kafka, settings.kafka.topics.silences, quiet.id, quiet.model_dump_json().encode())
    loud, silenced = make_alert(1), make_alert(2, alert_type="relocation")
    produce_alerts(env, [
        loud, silenced,
        make_alert(2, alert_type="relocation", state="resolved", version=2),
        make_alert(1, state="resolved", version=2),
    ])  # fmt: skip
    expected = {"ops:A0001:1", "ops:A0001:2"}
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        until(lambda: set(receiver.delivered_keys()) >= expected, 120, "the notifications")
        time.sleep(2.0)
        worker.wait_for(lambda: bool(worker.query(
            "SELECT count() FROM notifications FINAL WHERE status = 'silenced'")[0][0]), 30, "the silenced row")  # fmt: skip
        rows = worker.query("SELECT alert_id, version, status, http_status FROM notifications FINAL "
                            "ORDER BY alert_id, version, attempted_at, attempt")  # fmt: skip
    finally:
        worker.stop()
    assert Counter(receiver.delivered_keys()) == Counter(expected)  # once each, after three 500s
    assert [r.status for r in receiver.requests][:3] == [500, 500, 500]
    assert not any(r.key.startswith("ops:A0002") for r in receiver.requests)
    assert ["A0002", 1, "silenced", 0] in rows
    assert not any(r[0] == "A0002" and r[1] == 2 for r in rows)  # the silenced firing's resolution: nothing
    assert [r[2] for r in rows if r[0] == "A0001" and r[1] == 1] == ["retry", "retry", "retry", "delivered"]


def test_past_the_retry_budget_is_dead_lettered_and_its_resolution_not_sent(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "ENTBRAIN_NOTIFIER__MAX_AGE_SECONDS": "1"}
    settings = settings_from(env)
    receiver = Receiver(fail_first=10_000, fail_status=503).start_thread()
    sub = subscription("down", receiver.url)
    ensure_topics(settings.kafka)
    put(settings.kafka, settings.kafka.topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))
    produce_alerts(env, [make_alert(1), make_alert(1, state="resolved", version=2)])
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_for(lambda: bool(worker.query("SELECT count() FROM notification_dead_letters FINAL")[0][0]),
                        60, "the dead letter row")  # fmt: skip
        (row,) = worker.query("SELECT idempotency_key, last_error FROM notification_dead_letters FINAL")
    finally:
        worker.stop()
    assert row[0] == "down:A0001:1" and "HTTP 503" in row[1]
    dead = read_all(settings.kafka, settings.kafka.topics.notifications_deadletter)
    assert list(dead) == ["down:A0001:1"] and orjson.loads(dead["down:A0001:1"])["last_error"] == "HTTP 503"
    ledger = read_all(settings.kafka, settings.kafka.topics.notifications_ledger)
    assert orjson.loads(ledger["down:A0001:1"])["status"] == "dead_lettered"
    assert orjson.loads(ledger["down:A0001"]) == {"notified": False}
    assert "down:A0001:2" not in ledger and not any(r.key == "down:A0001:2" for r in receiver.requests)


def test_alerts_within_the_window_go_out_grouped_per_enterprise_or_district(env: dict[str, str], tmp_path: Path) -> None:
    settings = settings_from(env)
    receiver = Receiver().start_thread()
    per_enterprise = subscription("ent", receiver.url, group_window_seconds=3)
    per_district = subscription("dist", receiver.url, group_window_seconds=3, group_by="district")
    ensure_topics(settings.kafka)
    for sub in (per_enterprise, per_district):
        put(settings.kafka, settings.kafka.topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))
    u1, u2 = make_alert(1).uscc, make_alert(4).uscc
    alerts = [make_alert(1), make_alert(2, uscc=u1), make_alert(3, uscc=u1), make_alert(4),
              make_alert(1, state="resolved", version=2)]  # fmt: skip
    produce_alerts(env, alerts)
    members = [f"{a.alert_id}:{a.version}" for a in alerts]
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        until(lambda: len(receiver.delivered_keys()) >= 3, 120, "the grouped notifications")
        time.sleep(4.0)  # nothing more may arrive
    finally:
        worker.stop()
    by_key = {r.key: orjson.loads(r.body) for r in receiver.requests if r.status == 200}
    assert len(receiver.requests) == 3 and len(by_key) == 3

    def listed(body: dict[str, object]) -> list[str]:
        notes = body["notifications"] if "notifications" in body else [body]  # type: ignore[operator]
        return sorted(f"{n['alert']['alert_id']}:{n['alert']['version']}" for n in notes)  # type: ignore[index, union-attr]

    u1_key = group_key("ent", [f"ent:{m}" for m in members if not m.startswith("A0004")])
    assert listed(by_key[u1_key]) == sorted(m for m in members if not m.startswith("A0004"))
    assert by_key[u1_key]["group"] == u1 and by_key[u1_key]["group_by"] == "enterprise"
    assert listed(by_key["ent:A0004:1"]) == ["A0004:1"] and by_key["ent:A0004:1"]["enterprise"]["uscc"] == u2
    district_key = group_key("dist", [f"dist:{m}" for m in members])  # no snapshot: one "unknown" district
    assert listed(by_key[district_key]) == sorted(members)
    for r in receiver.requests:
        assert verify_signature("s3cret", r.body, r.headers["X-Entbrain-Signature"])
    ledger = read_all(settings.kafka, settings.kafka.topics.notifications_ledger)
    for sub_id, key_of in (("ent", lambda m: u1_key if not m.startswith("A0004") else "ent:A0004:1"),
                           ("dist", lambda m: district_key)):  # fmt: skip
        for m in members:
            record = orjson.loads(ledger[f"{sub_id}:{m}"])
            assert record["status"] == "delivered" and record["notification"] == key_of(m)
