"""Every endpoint × every role against a real worker; ad-hoc SQL refused through the API and the CLI."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from factories import encode, make_uscc, registration
from worker_fixtures import WorkerProcess, isolated_env, produce

from streams.cli import main

pytestmark = pytest.mark.kafka

TOKENS = {"viewer": "view-token-1", "operator": "op-token-1", "admin": "admin-token-1"}
RANK = {None: -1, "viewer": 0, "operator": 1, "admin": 2}
USCC = make_uscc(4242)
REP = "张三丰"
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str | None]] = [  # method, path, body, least role
    ("GET", "/health", None, None),
    ("GET", "/", None, None),
    ("GET", "/static/app.js", None, None),
    ("GET", "/metrics", None, "viewer"),
    ("GET", "/api/alerts", None, "viewer"),
    ("GET", "/api/alerts/stream", None, "viewer"),
    ("GET", f"/api/enterprises/{USCC}", None, "viewer"),
    ("GET", "/api/dashboard/kpis", None, "viewer"),
    ("GET", f"/api/dashboard/enterprise/{USCC}", None, "viewer"),
    ("POST", "/api/query", {"sql": "SELECT count() FROM events"}, "admin"),
]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[WorkerProcess]:
    tmp = tmp_path_factory.mktemp("access")
    env = isolated_env(tmp, kafka_bootstrap)
    env.update({
        "ENTBRAIN_AUTH__LOCAL_ACCESS": "false",
        "ENTBRAIN_AUTH__VIEWER_TOKENS": TOKENS["viewer"],
        "ENTBRAIN_AUTH__OPERATOR_TOKENS": TOKENS["operator"],
        "ENTBRAIN_AUTH__ADMIN_TOKENS": f"{TOKENS['admin']},admin-token-2",
        "ENTBRAIN_WEB__MAX_REQUEST_BYTES": "4096",
    })  # fmt: skip
    proc = WorkerProcess(env, tmp / "worker.log")
    produce(proc.settings, [("registration", USCC, encode(registration(USCC, "r1", legal_representative=REP)))])
    proc.start()
    try:
        proc.wait_for(lambda: proc.counts()["applied"] == 1, what="the registration applied")
        proc.wait_for(lambda: proc.query("SELECT count() FROM enterprise_snapshot FINAL") == [[1]], what="snapshot")
        yield proc
    finally:
        proc.stop()


def call(worker: WorkerProcess, method: str, path: str, body: Any = None, token: str | None = None,
         raw: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:  # fmt: skip
    conn = http.client.HTTPConnection(worker.settings.web.host, worker.settings.web.port, timeout=20)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
    if data is not None:
        sent["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=sent)
        resp = conn.getresponse()
        streaming = resp.getheader("Content-Type", "").startswith("text/event-stream")
        content = b"" if streaming else resp.read()
        return resp.status, content, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_every_endpoint_for_every_role(worker: WorkerProcess, endpoint: tuple[str, str, Any, str | None]) -> None:
    method, path, body, needed = endpoint
    for who in (None, "bad", "viewer", "operator", "admin"):
        token = {"bad": "not-a-token", None: None}.get(who, TOKENS.get(who or ""))
        status, content, headers = call(worker, method, path, body, token)
        if needed is None:
            expected = 200  # public routes ignore credentials
        elif who in (None, "bad"):
            expected = 401
        else:
            expected = 200 if RANK[who] >= RANK[needed] else 403
        assert status == expected, (who, path, status, content[:200])
        if status in (401, 403):
            assert "error" in orjson.loads(content)
            assert headers["content-type"].startswith("application/json")
        if status == 401:
            assert headers["www-authenticate"].startswith("Bearer")


ROUTE_SOURCES = sorted(Path(__file__).resolve().parents[2].joinpath("streams").rglob("*.py"))
PAGE = re.compile(r"""@app\.page\(\s*["']([^"']+)["']""")


def test_the_description_lists_every_route_of_the_code_with_its_role(worker: WorkerProcess) -> None:
    spec = orjson.loads(call(worker, "GET", "/api/openapi.json")[1])
    in_code = {m for path in ROUTE_SOURCES for m in PAGE.findall(path.read_text(encoding="utf-8"))}
    assert in_code - set(spec["paths"]) == set(), "routes without a gated handler (streams.access.AccessGate.allow)"
    assert {"/api/subscriptions", "/api/silences", "/api/alerts/{alert_id}/{action}", "/api/audit", "/ready"} <= in_code
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            assert op.get("security") == [] or op["x-entbrain-role"] in RANK, (method, path)


def _operations(worker: WorkerProcess) -> list[tuple[str, str, str | None]]:
    spec = orjson.loads(call(worker, "GET", "/api/openapi.json")[1])
    return [(method.upper(), path, op.get("x-entbrain-role"))
            for path, ops in spec["paths"].items() for method, op in ops.items()]  # fmt: skip


def test_every_described_operation_checks_the_role_it_declares(worker: WorkerProcess) -> None:
    """Each operation of /api/openapi.json: 401 without a token, 403 one role below, accepted at its role."""
    operations = _operations(worker)
    assert len(operations) >= 20
    for method, template, needed in operations:
        path = re.sub(r"{(\w+)}", "fuzz-id", template)
        body = {} if method in ("POST", "PUT") else None
        if needed is None:
            assert call(worker, method, path, body)[0] not in (401, 403), (method, path)
            continue
        assert call(worker, method, path, body)[0] == 401, (method, path)
        assert call(worker, method, path, body, "not-a-token")[0] == 401, (method, path)
        below = [who for who, rank in RANK.items() if who and rank == RANK[needed] - 1]
        if below:
            assert call(worker, method, path, body, TOKENS[below[0]])[0] == 403, (method, path, below[0])
        status, content, _ = call(worker, method, path, body, TOKENS[needed])
        assert status not in (401, 403) and status < 500, (method, path, needed, status, content[:200])


@pytest.mark.parametrize("path", ["/table/", "/table/enterprise_state/", f"/table/enterprise_state/{USCC}/",
                                  "/router/", "/graph/", "/stats/", "/performance/"])  # fmt: skip
def test_faust_built_in_pages_are_not_served(worker: WorkerProcess, path: str) -> None:
    for token in (None, TOKENS["admin"]):
        status, content, _ = call(worker, "GET", path, token=token)
        assert status == 404 and REP.encode() not in content, (path, status, content[:200])


def test_event_stream_takes_the_token_as_a_query_parameter(worker: WorkerProcess) -> None:
    assert call(worker, "GET", f"/api/alerts/stream?access_token={TOKENS['viewer']}")[0] == 200
    assert call(worker, "GET", "/api/alerts/stream?access_token=wrong")[0] == 401
    assert call(worker, "GET", f"/api/alerts?access_token={TOKENS['admin']}")[0] == 401  # headers only elsewhere


def test_second_admin_token_works(worker: WorkerProcess) -> None:
    assert call(worker, "POST", "/api/query", {"sql": "SELECT 1"}, "admin-token-2")[0] == 200


def test_personal_data_masked_for_viewer_and_operator_not_admin(worker: WorkerProcess) -> None:
    for who, expected in (("viewer", "张**"), ("operator", "张**"), ("admin", REP)):
        status, content, _ = call(worker, "GET", f"/api/enterprises/{USCC}", token=TOKENS[who])
        assert status == 200 and orjson.loads(content)["legal_representative"] == expected, who


@pytest.mark.parametrize("sql", [
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:9/', CSV, 'a String')",
    "SELECT * FROM remote('127.0.0.1:9000', system.one)",
    "SELECT * FROM executable('id', TSV, 'a String')",
    "SELECT * FROM s3('http://127.0.0.1:9/b/k', CSV)",
    "SELECT * FROM input('a Int32')",
    "SELECT 1; DROP TABLE events",
    "INSERT INTO events (event_id) VALUES ('x')",
    "DROP TABLE events",
    "SET readonly = 0",
    "SYSTEM FLUSH LOGS",
    "ATTACH TABLE leak FROM '/etc' (line String)",
    "SELECT * FROM /* c */ file('/etc/passwd', 'LineAsString') -- x",
    "SELECT * FROM (SELECT * FROM (SELECT * FROM url('http://x', CSV, 'a String')))",
])  # fmt: skip
def test_ad_hoc_sql_refused_through_api_and_cli(
    worker: WorkerProcess, sql: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, content, _ = call(worker, "POST", "/api/query", {"sql": sql}, TOKENS["admin"])
    answer = orjson.loads(content)
    assert status == 400 and answer["refused"] is True and "root:" not in answer["error"], answer
    for key, value in worker.env.items():
        if key.startswith("ENTBRAIN_"):
            monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main(["query", sql]) == 2
    err = capsys.readouterr()
    assert "root:" not in err.out and "Traceback" not in err.err
    assert len(err.err.strip().splitlines()) == 1 and err.err.startswith("entbrain query:")


def test_cli_query_works_with_the_token_and_fails_cleanly_without(
    worker: WorkerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in worker.env.items():
        if key.startswith("ENTBRAIN_"):
            monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main(["query", "SELECT count() AS n FROM enterprise_snapshot FINAL", "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out) == [{"n": 1}]
    assert main(["query", "SELECT * FROM nosuch_table"]) == 2
    assert "nosuch_table" in capsys.readouterr().err
    monkeypatch.setenv("ENTBRAIN_AUTH__CLIENT_TOKEN", TOKENS["viewer"])
    assert main(["query", "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "admin" in err and "Traceback" not in err


INJECTIONS = ["' OR 1=1 --", "critical' UNION SELECT * FROM file('/etc/passwd','LineAsString') --",
              "\\'; DROP TABLE alerts; --", "{x:String}", "%s%s%n", "\x00", "🙂" * 10]  # fmt: skip


@pytest.mark.parametrize("value", INJECTIONS)
def test_alert_filters_are_bound_parameters(worker: WorkerProcess, value: str) -> None:
    for name in ("severity", "district", "type", "uscc", "state"):
        query = urllib.parse.urlencode({name: value, "limit": "5"})
        status, content, _ = call(worker, "GET", f"/api/alerts?{query}", token=TOKENS["viewer"])
        assert status == 200 and orjson.loads(content) == [], (name, value, content[:200])
    assert worker.query("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'alerts'") == [[1]]


@pytest.mark.parametrize("request_", [
    ("GET", "/api/alerts?limit=abc", None), ("GET", "/api/alerts?limit=0", None),
    ("GET", "/api/alerts?limit=99999999999999999999", None), ("GET", "/api/alerts?color=red", None),
    ("GET", "/api/alerts?severity=" + "x" * 500, None), ("GET", "/api/dashboard/enterprise/not-a-uscc", None),
    ("POST", "/api/query", b"{not json"), ("POST", "/api/query", b"[1, 2]"), ("POST", "/api/query", b""),
    ("POST", "/api/query", b'{"sql": 42}'), ("POST", "/api/query", b'{"sql": "SELECT 1", "parameters": [1]}'),
])  # fmt: skip
def test_bad_requests_get_a_json_400(worker: WorkerProcess, request_: tuple[str, str, bytes | None]) -> None:
    method, path, raw = request_
    status, content, headers = call(worker, method, path, token=TOKENS["admin"], raw=raw)
    assert status == 400 and "error" in orjson.loads(content), (path, raw, status, content[:300])
    assert "Traceback" not in content.decode("utf-8", "replace")


def test_oversized_body_is_413(worker: WorkerProcess) -> None:
    raw = orjson.dumps({"sql": "SELECT 1 -- " + "x" * 10_000})
    status, content, _ = call(worker, "POST", "/api/query", token=TOKENS["admin"], raw=raw)
    assert status == 413 and "error" in orjson.loads(content)
    assert worker.health()["status"] == "ok"


def test_unknown_routes_and_enterprises_are_404(worker: WorkerProcess) -> None:
    assert call(worker, "GET", f"/api/enterprises/{make_uscc(1)}", token=TOKENS["viewer"])[0] == 404
    assert call(worker, "GET", "/api/dashboard/nosuch", token=TOKENS["viewer"])[0] == 404
    assert call(worker, "GET", "/static/../../etc/passwd")[0] == 404


def _log(worker: WorkerProcess) -> str:
    return Path(worker.log).read_text(errors="replace")


def test_tokens_never_reach_the_log(worker: WorkerProcess) -> None:
    call(worker, "GET", "/api/alerts", token=TOKENS["viewer"])
    log = _log(worker)
    assert all(token not in log for token in TOKENS.values())
