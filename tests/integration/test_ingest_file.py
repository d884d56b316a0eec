"""`entbrain ingest` through the real broker into a real worker."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest
from factories import encode, make_uscc, registration, social_security, vat
from worker_fixtures import WorkerProcess, isolated_env

from streams.cli import main

pytestmark = pytest.mark.kafka


def write_jsonl(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_jsonl_with_good_bad_duplicate_and_amended_rows(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    u = make_uscc(500)
    good = [
        encode(registration(u, "r1")),
        encode(vat(u, "t1", "2025-05", revenue="1000.00")),
        encode(social_security(u, "s1", "2025-05", 30)),
        encode(vat(u, "t1b", "2025-05", revenue="1500.00")),  # amendment of 2025-05 VAT
        encode(vat(u, "t1", "2025-05", revenue="1000.00")),  # duplicate event id
    ]
    bad = [b'{"event_id": "x", "uscc"', encode(vat(u, "t2", "2025-06") | {"sales_revenue": "-3.00"}), b"[]"]
    source = write_jsonl(tmp_path / "events.jsonl", good[:2] + bad[:1] + good[2:] + bad[1:])
    rejects = tmp_path / "rejects.jsonl"

    assert main(["ingest", str(source), "--rejects", str(rejects)]) == 1  # rejected rows → non-zero
    rejected = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [r["line"] for r in rejected] == [3, 7, 8]
    assert rejected[1]["reasons"][0]["path"] == "sales_revenue"

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_for(lambda: worker.counts()["consumed"] == len(good), what="ingested rows consumed")
        assert worker.counts() == {"consumed": 5, "applied": 4, "duplicate": 1, "dead_letter": 0, "forwarded": 0,
                                   "resolved": 0, "parked": 0, "released": 0, "learned": 0}
        state = worker.get_json(f"/api/enterprises/{u}")
        assert state["counts"] == {"registration": 1, "tax": 2, "social_security": 1}
        assert worker.query("SELECT latest_revenue FROM enterprise_snapshot FINAL") == [["1500.00"]]
    finally:
        worker.stop()


def test_csv_with_kind_and_allow_rejects(tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rows = [social_security(make_uscc(600 + i), f"s{i}", "2025-04", 10 + i) for i in range(5)]
    rows[3]["insured_headcount"] = "many"
    for row in rows:
        del row["kind"]
    path = tmp_path / "ss.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["ingest", str(path), "--kind", "social_security", "--allow-rejects"]) == 0
    rejects = path.with_name("ss.csv.rejects.jsonl")
    assert [orjson.loads(line)["line"] for line in rejects.read_bytes().splitlines()] == [5]
    assert main(["ingest", str(path), "--kind", "weather"]) == 2
    assert main(["ingest", str(tmp_path / "missing.csv")]) == 2
