"""A subscriber gets the enterprise's situation, not each finding; an operator's verdict on it
reaches the rules through ``enterprise.verdicts`` and is learned again after a restart."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from factories import encode, make_uscc, registration, social_security

from streams.compacted import put
from streams.kafka_admin import ensure_topics, make_producer
from tests.delivery_fixtures import Receiver, subscription
from tests.integration.worker_fixtures import WorkerProcess, isolated_env, settings_from

pytestmark = pytest.mark.kafka


def test_the_situation_is_delivered_and_its_verdict_recalibrates(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap) | {"ENTBRAIN_NOTIFIER__RETRY_INITIAL_SECONDS": "0.05",
                                                     "ENTBRAIN_AUTH__OPERATOR_TOKENS": "ot"}  # fmt: skip
    settings = settings_from(env)
    receiver = Receiver().start_thread()
    officer = subscription("officer", receiver.url, filters={"findings": False})  # the default: situations
    ensure_topics(settings.kafka)
    put(settings.kafka, settings.kafka.topics.subscriptions, officer.id, orjson.dumps(officer.to_record()))
    uscc = make_uscc(4242)
    producer = make_producer(settings.kafka)
    for topic, event in (
        (settings.kafka.topics.registration, registration(uscc, "r1")),
        (settings.kafka.topics.social_security, social_security(uscc, "s1", "2026-03")),
        (settings.kafka.topics.registration, registration(uscc, "r2", change="status", status="moved_out")),
    ):
        producer.produce(topic, key=uscc.encode(), value=encode(event))
    assert producer.flush(30) == 0

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        def alerts() -> dict[str, str]:
            return {t: a for a, t in worker.query("SELECT alert_id, alert_type FROM alerts FINAL")}

        worker.wait_for(lambda: {"relocation", "situation"} <= set(alerts()), 120, "the relocation and its situation")
        found = alerts()
        worker.wait_for(lambda: bool(receiver.delivered_keys()), 60, "a delivery")
        time.sleep(2.0)  # nothing else may arrive
        assert sorted(set(receiver.delivered_keys())) == [f"officer:{found['situation']}:1"]
        body = orjson.loads(receiver.requests[0].body)
        assert "relocation" in orjson.dumps(body).decode()

        status, answer = worker.call("POST", f"/api/alerts/{found['situation']}/verdict", "ot",
                                     {"by": "wang", "verdict": "false_alarm", "comment": "moved back"})  # fmt: skip
        assert status == 201 and answer["recalibrates"] == ["relocation"]  # a situation's verdict: its findings'
        worker.wait_for(lambda: worker.metric("entbrain_verdicts_learned") == 1, 60, "the verdict learned")
        status, answer = worker.call("POST", "/api/alerts/no-such-alert/verdict", "ot",
                                     {"by": "wang", "verdict": "confirmed"})  # fmt: skip
        assert status == 201 and answer["recalibrates"] == []  # recorded, but nothing to learn from
    finally:
        worker.stop()
    worker = WorkerProcess(env, tmp_path / "worker-again.log").start()
    try:  # a restarted worker reads the verdicts topic from its beginning
        worker.wait_for(lambda: worker.metric("entbrain_verdicts_learned") == 1, 60, "the verdict learned again")
    finally:
        worker.stop()
