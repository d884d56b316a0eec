"""Identification-list changes reach the subscribers that ask for them, like alerts (real notifier)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from detectors.list_notices import list_change_notice
from schemas import ListChange
from streams.compacted import put
from streams.kafka_admin import ensure_topics, make_producer
from tests.delivery_fixtures import T0, Receiver, make_alert, subscription
from tests.integration.worker_fixtures import WorkerProcess, isolated_env, settings_from

pytestmark = pytest.mark.kafka


def test_list_changes_go_to_subscriptions_that_ask_for_them(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap) | {"ENTBRAIN_NOTIFIER__RETRY_INITIAL_SECONDS": "0.05"}
    settings = settings_from(env)
    receiver = Receiver().start_thread()
    officer = subscription("officer", receiver.url, filters={"list_changes": True, "alert_types": ["list_change"]})
    watcher = subscription("watcher", receiver.url)  # alerts only (the default)
    ensure_topics(settings.kafka)
    for sub in (officer, watcher):
        put(settings.kafka, settings.kafka.topics.subscriptions, sub.id, orjson.dumps(sub.to_record()))
    alert = make_alert(1)
    change = ListChange(uscc=alert.uscc, list_name="kunpeng", change="enter", changed_at=T0 + timedelta(hours=1),
                        composite=71.0, event_id="e-77")  # fmt: skip
    notice = list_change_notice(change, "杭州甲科技有限公司")
    producer = make_producer(settings.kafka)
    for message in (alert, notice):
        producer.produce(settings.kafka.topics.alerts, key=message.uscc.encode(), value=message.model_dump_json().encode())
    assert producer.flush(30) == 0

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(set(receiver.delivered_keys())) < 2:
            time.sleep(0.2)
        time.sleep(2.0)  # nothing else may arrive
    finally:
        worker.stop()
    assert sorted(set(receiver.delivered_keys())) == sorted([f"officer:{notice.alert_id}:1", f"watcher:{alert.alert_id}:1"])
    body = next(orjson.loads(r.body) for r in receiver.requests if r.key.startswith("officer:"))
    assert "鲲鹏企业" in orjson.dumps(body).decode()
