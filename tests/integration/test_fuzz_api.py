"""Random requests against every endpoint of a real worker: never a 5xx, never a crash.

A longer run: ``ENTBRAIN_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/integration/test_fuzz_api.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import urllib.parse
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from worker_fixtures import WorkerProcess, isolated_env

pytestmark = pytest.mark.kafka

EXAMPLES = int(os.environ.get("ENTBRAIN_FUZZ_EXAMPLES", "150"))
ADMIN = "fuzz-admin-token"


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[WorkerProcess]:
    tmp = tmp_path_factory.mktemp("fuzz")
    env = isolated_env(tmp, kafka_bootstrap)
    env.update({"ENTBRAIN_AUTH__LOCAL_ACCESS": "false", "ENTBRAIN_AUTH__ADMIN_TOKENS": ADMIN,
                "ENTBRAIN_AUTH__OPERATOR_TOKENS": OPERATOR, "ENTBRAIN_AUTH__VIEWER_TOKENS": VIEWER})
    proc = WorkerProcess(env, tmp / "worker.log").start()
    yield proc
    proc.stop()


OPERATOR, VIEWER = "fuzz-operator-token", "fuzz-viewer-token"
# Server-sent events never end; their parameters go through the same filter parser as
# /api/alerts, which is fuzzed (tests/integration/test_alert_stream_resume.py covers the stream).
STREAMING = {"/api/alerts/stream"}
# 503 is /ready's answer while a dependency is down: part of its contract, not a failure.
MAY_BE_UNAVAILABLE = {"/ready"}


def operations(worker: WorkerProcess) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path template, query parameter names) of every operation the worker describes."""
    spec = worker.get_json("/api/openapi.json")
    return [
        (method.upper(), path, tuple(p["name"] for p in op["parameters"] if p["in"] == "query"))
        for path, ops in sorted(spec["paths"].items()) if path not in STREAMING
        for method, op in sorted(ops.items())
    ]  # fmt: skip


def test_openapi_lists_every_route(worker: WorkerProcess) -> None:
    spec = worker.get_json("/api/openapi.json")
    assert {"/health", "/api/alerts", "/api/query", "/api/enterprises/{uscc}", "/api/subscriptions",
            "/api/silences", "/api/alerts/{alert_id}/{action}", "/api/audit", "/ready"} <= set(spec["paths"])  # fmt: skip


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
injections = st.sampled_from(["' OR 1=1 --", "1; DROP TABLE events", "') UNION SELECT * FROM file('/etc/passwd')--",
                              "{uscc:String}", "\\'", "%27%20OR%201%3D1", "1e309", "-1", "0", "9" * 40])  # fmt: skip
months = st.sampled_from(["2026-04", "1990-01", "2100-12", "9999-12", "0000-01", "2026-04\x00"])
values = st.one_of(texts, months, injections)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts, injections),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)
fields = st.sampled_from(["sql", "id", "name", "channel", "url", "secret", "filters", "matchers", "ends_at", "by",
                          "verdict", "assignee", "comment", "operation", "min_severity", "alert_types"])  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(st.one_of(fields, texts), json_values, max_size=6)),
    st.builds(lambda s: orjson.dumps({"sql": s}), st.one_of(texts, injections)),
    st.sampled_from([b'{"sql": "SELECT * FROM file(\'/etc/passwd\')"}', b"{}", b"null", b"[]", b'{"by": ""}']),
)
tokens = st.sampled_from([ADMIN, OPERATOR, VIEWER, None, "bad"])


@pytest.fixture(scope="module")
def described(worker: WorkerProcess) -> list[tuple[str, str, tuple[str, ...]]]:
    return operations(worker)


@pytest.mark.timeout(max(600, EXAMPLES // 20))  # about 80 requests a second on this machine
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), segment=st.one_of(texts, injections), body=bodies, token=tokens)
def test_random_requests_never_get_a_5xx(
    worker: WorkerProcess, described: list[tuple[str, str, tuple[str, ...]]], data: st.DataObject, segment: str,
    body: bytes, token: str | None,
) -> None:  # fmt: skip
    method, template, known = data.draw(st.sampled_from(described), label="operation")
    names = st.one_of(st.sampled_from(known), texts) if known else texts
    query = data.draw(st.dictionaries(names, values, max_size=4), label="query")
    path = re.sub(r"{\w+}", lambda _: urllib.parse.quote(segment, safe=""), template)
    url = path + ("?" + urllib.parse.urlencode(query) if query else "")
    conn = http.client.HTTPConnection(worker.settings.web.host, worker.settings.web.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        conn.request(method, url, body=body if method in ("POST", "PUT", "PATCH") else None, headers=headers)
        response = conn.getresponse()
        status, content = response.status, response.read()
    finally:
        conn.close()
    if template in MAY_BE_UNAVAILABLE and status == 503:
        return
    assert status < 500, (method, url, body[:100], status, content[:200])
    assert worker.proc is not None and worker.proc.poll() is None
    if status >= 400 and template not in ("/", "/static/{name}", "/static/vendor/{name}"):
        assert "error" in orjson.loads(content), (method, url, status, content[:200])
