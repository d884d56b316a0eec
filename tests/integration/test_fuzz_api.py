"""Random requests against every endpoint of a real worker: never a 5xx, never a crash.

A longer run: ``ENTBRAIN_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/integration/test_fuzz_api.py``.
"""

from __future__ import annotations

import http.client
import os
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
    env.update({"ENTBRAIN_AUTH__LOCAL_ACCESS": "false", "ENTBRAIN_AUTH__ADMIN_TOKENS": ADMIN})
    proc = WorkerProcess(env, tmp / "worker.log").start()
    yield proc
    proc.stop()


def test_openapi_lists_every_route(worker: WorkerProcess) -> None:
    spec = worker.get_json("/api/openapi.json")
    assert {"/health", "/api/alerts", "/api/query", "/api/enterprises/{uscc}"} <= set(spec["paths"])


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
paths = st.sampled_from(["/api/alerts", "/api/enterprises/{x}", "/api/dashboard/{x}", "/api/dashboard/enterprise/{x}",
                         "/metrics", "/health", "/api/openapi.json", "/static/{x}", "/api/query",
                         "/api/report", "/api/report/periods"])  # fmt: skip
months = st.sampled_from(["2026-04", "1990-01", "2100-12", "9999-12", "0000-01", "2026-04\x00"])
queries = st.dictionaries(st.sampled_from(["limit", "severity", "type", "district", "uscc", "state", "period", "x"]),
                          st.one_of(texts, months), max_size=4)
bodies = st.one_of(st.binary(max_size=300), st.builds(lambda s: orjson.dumps({"sql": s}), texts),
                   st.sampled_from([b'{"sql": "SELECT * FROM file(\'/etc/passwd\')"}', b"{}", b"null"]))  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths, segment=texts, query=queries, body=bodies, token=st.sampled_from([ADMIN, None, "bad"]))
def test_random_requests_never_get_a_5xx(
    worker: WorkerProcess, path: str, segment: str, query: dict[str, str], body: bytes, token: str | None
) -> None:
    url = path.replace("{x}", urllib.parse.quote(segment, safe="")) + ("?" + urllib.parse.urlencode(query) if query else "")
    conn = http.client.HTTPConnection(worker.settings.web.host, worker.settings.web.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        if path == "/api/query":
            conn.request("POST", url, body=body, headers=headers)
        else:
            conn.request("GET", url, headers=headers)
        status = conn.getresponse().status
    finally:
        conn.close()
    assert status < 500, (path, url, body[:100], status)
    assert worker.proc is not None and worker.proc.poll() is None
