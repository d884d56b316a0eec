"""Replay and backtest through the API (operator role), against the running worker (real broker, chDB)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_exactly_once_in_effect import history
from worker_fixtures import WorkerProcess, isolated_env, produce, read_topic, settings_from

from config.scoring import DEFAULT_SCORING_PATH

pytestmark = pytest.mark.kafka

TOKENS = {"viewer": "view-token-9", "operator": "op-token-9"}


def call(worker: WorkerProcess, method: str, path: str, body: Any = None, role: str = "operator") -> tuple[int, Any]:
    return worker.call(method, path, TOKENS[role], body)


def test_replay_and_backtest_through_the_api(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap, partitions=1) | {
        "ENTBRAIN_AUTH__LOCAL_ACCESS": "false",
        "ENTBRAIN_AUTH__VIEWER_TOKENS": TOKENS["viewer"],
        "ENTBRAIN_AUTH__OPERATOR_TOKENS": TOKENS["operator"],
        "ENTBRAIN_AUTH__ADMIN_TOKENS": "admin-token-9",
    }
    settings = settings_from(env)
    events = history(10)
    produce(settings, events)
    worker = WorkerProcess(env, tmp_path / "w.log")
    try:
        worker.start()
        worker.wait_for(lambda: worker.counts()["consumed"] == len(events), what="live run")
        alerts_before = len(read_topic(kafka_bootstrap, settings.kafka.topics.alerts))
        stored = worker.query("SELECT count() FROM events FINAL")

        # replay: viewers may not; bad bodies name the problem; a dry run changes nothing
        assert call(worker, "POST", "/api/replay", {"dry_run": True}, role="viewer")[0] == 403
        status, answer = call(worker, "POST", "/api/replay", {"since": "yesterday"})
        assert status == 400 and "since" in answer["error"]
        status, answer = call(worker, "POST", "/api/replay", {"since": "2025-01-01", "offsets": "x:0:1"})
        assert status == 400 and "not both" in answer["error"]
        status, answer = call(worker, "POST", "/api/replay", {"offsets": f"{settings.kafka.topics.tax}:7:0"})
        assert status == 400 and "do not exist" in answer["error"]
        status, plan = call(worker, "POST", "/api/replay", {})
        assert status == 200 and plan["dry_run"] is True
        assert plan["messages"] == len(events) and plan["redelivered"] == len(events)
        assert worker.counts()["consumed"] == len(events)

        # a real replay rewinds the running worker: every record read again, as a redelivery
        status, done = call(worker, "POST", "/api/replay", {"dry_run": False, "actor": "ops-duty"})
        assert status == 202 and sorted(done["moved"]) == sorted(f"{t}:0" for t in settings.kafka.topics.inputs())
        assert done["not_owned"] == []
        worker.wait_for(lambda: worker.counts()["consumed"] == 2 * len(events), what="the replay read")
        worker.wait_for(lambda: worker.counts()["duplicate"] >= len(events) - 1, what="redeliveries counted")
        assert worker.query("SELECT count() FROM events FINAL") == stored
        assert len(read_topic(kafka_bootstrap, settings.kafka.topics.alerts)) == alerts_before  # nobody warned twice

        # backtest: a scoring where everybody leads, in its own process and places
        scoring = yaml.safe_load(DEFAULT_SCORING_PATH.read_text(encoding="utf-8"))
        scoring["tiers"][0]["all"] = ["composite >= 0"]
        request = {"name": "everyone_leads", "from": "2025-01-01", "to": "2026-12-31", "scoring": scoring}
        assert call(worker, "POST", "/api/backtests", request, role="viewer")[0] == 403
        status, answer = call(worker, "POST", "/api/backtests", {**request, "name": "Bad Name!"})
        assert status == 400 and "backtest name" in answer["error"]
        status, answer = call(worker, "POST", "/api/backtests", {**request, "scoring": {"tiers": "none"}})
        assert status == 400 and answer["error"]
        status, started = call(worker, "POST", "/api/backtests", request)
        assert status == 202 and started["status"] == "running"
        assert call(worker, "POST", "/api/backtests", {**request, "name": "second"})[0] == 409  # one at a time
        deadline = time.monotonic() + 300
        while (state := call(worker, "GET", "/api/backtests/everyone_leads")[1])["status"] == "running":
            assert time.monotonic() < deadline, state
            time.sleep(1.0)
        assert state["status"] == "done", state
        assert state["manifest"]["name"] == "everyone_leads"
        status, diff = call(worker, "GET", "/api/backtests/everyone_leads/diff")
        assert status == 200, diff
        assert diff["tier_moves"] and all(move["to_tier"] == "leader" for move in diff["tier_moves"])
        assert call(worker, "GET", "/api/backtests/nope")[0] == 404
        assert call(worker, "GET", "/api/backtests/nope/diff")[0] == 404
        assert len(read_topic(kafka_bootstrap, settings.kafka.topics.alerts)) == alerts_before

        operations = worker.query("SELECT operation, outcome, actor_kind FROM audit_log FINAL ORDER BY at")
        assert ["replay", "dry_run", "token:operator"] in operations
        assert ["replay", "done", "token:operator"] in operations
        assert [r[:2] for r in operations].count(["backtest_run", "done"]) == 1
        assert [r[:2] for r in operations].count(["backtest_diff", "done"]) == 1
    finally:
        worker.stop()
