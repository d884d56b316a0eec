"""Replays, fresh re-processing and a crash between insert and commit leave results unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import encode, make_uscc, registration, social_security, vat
from worker_fixtures import WorkerProcess, isolated_env, produce, settings_from

from streams.replay import plan, reset_group

pytestmark = pytest.mark.kafka

# What the input alone decides, whatever order the three topics interleave in.
FACT_QUERIES = [
    "SELECT day, alert_type, district_code, severity, alerts FROM v_alerts_daily ORDER BY ALL",
    "SELECT * FROM v_district_summary ORDER BY district_code",
    "SELECT kind, source, last_business_time, events FROM v_source_freshness ORDER BY kind, source",
    "SELECT count(), uniqExact(event_id) FROM events FINAL",
    "SELECT count() FROM dead_letters FINAL",
    "SELECT uscc, state_version, status, latest_revenue, latest_headcount FROM enterprise_snapshot FINAL ORDER BY uscc",
    "SELECT uscc, count(), min(state_version), max(state_version) FROM scores FINAL GROUP BY uscc ORDER BY uscc",
    "SELECT alert_id, state, version FROM alerts FINAL ORDER BY alert_id",
    "SELECT alert_id, version, state FROM alert_events FINAL ORDER BY alert_id, version",
]
# Everything the dashboards read, including scores that depend on processing order.
DASHBOARD_QUERIES = [
    "SELECT tier, enterprises, avg_composite FROM v_tier_pyramid ORDER BY tier",
    "SELECT day, alert_type, district_code, severity, alerts FROM v_alerts_daily ORDER BY ALL",
    "SELECT * FROM v_industry_gradient ORDER BY industry_section",
    "SELECT * FROM v_district_summary ORDER BY district_code",
    "SELECT kind, source, last_business_time, events FROM v_source_freshness ORDER BY kind, source",
    "SELECT count(), uniqExact(event_id) FROM events FINAL",
    "SELECT count() FROM dead_letters FINAL",
    "SELECT uscc, state_version, status, latest_revenue, latest_headcount, tier FROM enterprise_snapshot FINAL ORDER BY uscc",
    "SELECT uscc, state_version, composite FROM scores FINAL ORDER BY uscc, state_version",
    "SELECT alert_id, state, version FROM alerts FINAL ORDER BY alert_id",
    "SELECT alert_id, version, state FROM alert_events FINAL ORDER BY alert_id, version",
]


def history(n: int = 15) -> list[tuple[str, str, bytes]]:
    out = []
    for i in range(n):
        u = make_uscc(300 + i, district="330106" if i % 3 == 0 else "330110")
        out.append(("registration", u, encode(registration(u, f"r{i}"))))
        for m in range(1, 7):
            period = f"2025-{m:02d}"
            out.append(("tax", u, encode(vat(u, f"t{i}-{m}", period, revenue=f"{(i + 1) * 1000 * m}.00"))))
            out.append(("social_security", u, encode(social_security(u, f"s{i}-{m}", period, 5 + i + m))))
        if i % 5 == 0:
            out.append(("registration", u, encode(registration(u, f"x{i}", change="status", status="deregistered"))))
    out.append(("tax", make_uscc(300), b"{not json"))
    return out


def results(worker: WorkerProcess, queries: list[str] = DASHBOARD_QUERIES) -> list[Any]:
    return [worker.query(sql) for sql in queries]


def run_until_done(worker: WorkerProcess, total: int, queries: list[str] = DASHBOARD_QUERIES) -> list[Any]:
    worker.start()
    worker.wait_for(lambda: worker.counts()["consumed"] >= total, what="input consumed")
    return results(worker, queries)


def test_replay_and_fresh_reprocessing_leave_dashboard_results_unchanged(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap)
    settings = settings_from(env)
    events = history()
    produce(settings, events)
    valid = len(events) - 1

    first = WorkerProcess(env, tmp_path / "w1.log")
    try:
        baseline = run_until_done(first, len(events))
        first.wait_for(lambda: first.counts()["consumed"] == len(events), what="all consumed")
        baseline_facts = results(first, FACT_QUERIES)
    finally:
        first.stop()
    assert baseline[5] == [[valid, valid]]
    assert all(row[1] == row[3] and row[2] == 1 for row in baseline_facts[6])  # no gap in score history

    replay = plan(settings, None)
    assert replay.messages == len(events)
    reset_group(settings, replay)
    second = WorkerProcess(env, tmp_path / "w2.log")
    try:
        second.start()
        second.wait_for(lambda: second.counts()["consumed"] == len(events), what="replayed")
        assert second.counts()["duplicate"] == valid  # the state already had every event
        assert results(second) == baseline
    finally:
        second.stop()

    fresh_env = env | {"ENTBRAIN_WORKER__APP_ID": env["ENTBRAIN_WORKER__APP_ID"] + "-fresh"}
    third = WorkerProcess(fresh_env, tmp_path / "w3.log")  # new state, same ClickHouse: every row written again
    try:
        third.start()
        third.wait_for(lambda: third.counts()["consumed"] == len(events), what="re-processed")
        assert third.counts()["applied"] == valid
        assert results(third, FACT_QUERIES) == baseline_facts
    finally:
        third.stop()


def test_a_crash_between_insert_and_commit_leaves_no_gap_and_no_duplicate(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap) | {
        "ENTBRAIN_SINK__BATCH_MAX_EVENTS": "40",
        "ENTBRAIN_WORKER__FAILPOINT": "after_rows@2",
    }
    settings = settings_from(env)
    events = history()
    produce(settings, events)
    valid = len(events) - 1

    crashing = WorkerProcess(env, tmp_path / "crash.log")
    crashing.start()
    assert crashing.proc is not None
    assert crashing.proc.wait(90) == 70  # exited right after the rows of its second batch
    survivor = WorkerProcess(env | {"ENTBRAIN_WORKER__FAILPOINT": ""}, tmp_path / "after.log")
    try:
        survivor.start()
        # every enterprise's last snapshot carries the number of events applied to it
        survivor.wait_for(lambda: survivor.query("SELECT sum(state_version) FROM enterprise_snapshot FINAL") == [[valid]],
                          what="every event applied")  # fmt: skip
        survivor.wait_for(lambda: survivor.query("SELECT count() FROM events FINAL") == [[valid]], what="events stored")
        survivor.wait_for(lambda: survivor.query("SELECT count() FROM dead_letters FINAL") == [[1]], what="dead letter")
        after = results(survivor, FACT_QUERIES)
        # the restart lost no fetched record on its way to the worker (streams.input_guards): nothing
        # had to be read again, and no partition fell silent with records still to fetch
        assert survivor.metric("entbrain_offset_gaps_total") == 0
        assert survivor.metric("entbrain_silent_partition_seeks_total") == 0
        assert survivor.metric("entbrain_aligner_unaligned_releases", reason="idle") == 0
    finally:
        survivor.stop()

    clean_env = isolated_env(tmp_path / "clean", kafka_bootstrap)
    clean_settings = settings_from(clean_env)
    produce(clean_settings, events)
    clean = WorkerProcess(clean_env, tmp_path / "clean.log")
    try:
        expected = run_until_done(clean, len(events), FACT_QUERIES)
    finally:
        clean.stop()
    assert after == expected
