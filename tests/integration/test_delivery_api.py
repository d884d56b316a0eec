"""``/api/subscriptions``, ``/api/silences`` and ``/api/alerts/{id}/ack|assign|verdict`` on a real worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tests.integration.worker_fixtures import WorkerProcess, isolated_env


def call(worker: WorkerProcess, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    return worker.call(method, path, token, body, timeout=30)


def test_operator_endpoints(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = {**isolated_env(tmp_path, kafka_bootstrap), "ENTBRAIN_AUTH__VIEWER_TOKENS": "vt",
           "ENTBRAIN_AUTH__OPERATOR_TOKENS": "ot", "ENTBRAIN_AUTH__ADMIN_TOKENS": "at"}  # fmt: skip
    sub = {"id": "bureau", "name": "经信局", "owner": "econ", "channel": "wecom",
           "settings": {"url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=k", "secret": "hidden"}}  # fmt: skip
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_for(lambda: call(worker, "GET", "/api/subscriptions", "vt")[0] == 200, 60, "the API")
        assert call(worker, "POST", "/api/subscriptions", "vt", sub)[0] == 403
        worker.wait_for(lambda: call(worker, "POST", "/api/subscriptions", "ot", sub)[0] == 201, 60, "the notifier")
        assert call(worker, "POST", "/api/subscriptions", "ot", sub)[0] == 409
        status, listed = call(worker, "GET", "/api/subscriptions", "vt")
        assert status == 200 and [s["id"] for s in listed] == ["bureau"] and b"hidden" not in orjson.dumps(listed)
        assert call(worker, "POST", "/api/subscriptions", "ot", {**sub, "id": "x", "channel": "fax"})[0] == 400
        assert call(worker, "PUT", "/api/subscriptions/bureau", "ot", {**sub, "name": "renamed"})[1]["name"] == "renamed"

        status, silence = call(worker, "POST", "/api/silences", "ot",
                               {"alert_types": ["relocation"], "ends_at": "2099-01-01T00:00:00Z",
                                "author": "ops", "reason": "move"})  # fmt: skip
        assert status == 201
        status, expired = call(worker, "POST", f"/api/silences/{silence['id']}/expire", "ot")
        assert status == 200 and expired["ends_at"] < "2099"

        assert call(worker, "POST", "/api/alerts/A1/ack", "ot", {"by": "li"})[0] == 201
        assert call(worker, "POST", "/api/alerts/A1/assign", "ot", {"by": "li", "assignee": "wang"})[0] == 201
        assert call(worker, "POST", "/api/alerts/A1/verdict", "ot", {"by": "wang", "verdict": "maybe"})[0] == 400
        assert call(worker, "POST", "/api/alerts/A1/verdict", "ot",
                    {"by": "wang", "verdict": "false_alarm", "comment": "seasonal"})[0] == 201  # fmt: skip
        assert call(worker, "POST", "/api/alerts/A1/ack", "vt", {"by": "li"})[0] == 403
        assert call(worker, "DELETE", "/api/subscriptions/bureau", "ot")[0] == 200
        assert call(worker, "GET", "/api/subscriptions/bureau", "vt")[0] == 404

        def admin_rows(sql: str) -> list[Any]:
            return list(call(worker, "POST", "/api/query", "at", {"sql": sql})[1]["rows"])

        actions = admin_rows("SELECT action, actor, assignee, verdict FROM alert_actions FINAL ORDER BY acted_at")
        assert actions == [["ack", "li", "", ""], ["assign", "li", "wang", ""], ["verdict", "wang", "", "false_alarm"]]
        assert admin_rows("SELECT count() FROM v_rule_precision") == [[0]]  # no alert A1 in `alerts`
        assert admin_rows("SELECT count() FROM v_time_to_ack") == [[0]]
        worker.wait_for(lambda: admin_rows("SELECT deleted FROM subscriptions FINAL WHERE id = 'bureau'") == [[True]],
                        30, "the subscriptions mirror")  # fmt: skip
        assert b"hidden" not in orjson.dumps(admin_rows("SELECT definition FROM subscriptions"))
    finally:
        worker.stop()
