"""Operators against a real broker: replay (dry run, offsets, refusal), rebuild, audit trail, /ready."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_exactly_once_in_effect import DASHBOARD_QUERIES, history, results
from worker_fixtures import WorkerProcess, isolated_env, produce, read_topic, settings_from

from streams.cli import main
from streams.replay import live_members, plan

pytestmark = pytest.mark.kafka


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def audit_rows(worker: WorkerProcess) -> list[list[Any]]:
    return worker.query("SELECT operation, outcome, actor, actor_kind, arguments, target_range, rules_version, "
                        "scoring_version, detail FROM audit_log FINAL ORDER BY at")  # fmt: skip


def test_replay_plans_refuses_while_running_and_rewinds_by_offsets(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap)
    use_env(monkeypatch, env)
    settings = settings_from(env)
    events = history(6)
    produce(settings, events)
    tax = settings.kafka.topics.tax
    worker = WorkerProcess(env, tmp_path / "w1.log")
    try:
        worker.start()
        worker.wait_for(lambda: worker.counts()["consumed"] == len(events), what="input consumed")
        members = live_members(settings)
        assert len(members) == 1

        assert main(["replay", "--dry-run"]) == 0
        printed = capsys.readouterr()
        assert "to read" in printed.out and "redeliveries" in printed.out.replace("\n", " ")
        assert f"{len(events)}" in printed.out

        assert main(["replay", "--since", "2020-01-01"]) == 2
        refused = capsys.readouterr().err
        assert "live member" in refused and members[0].member_id in refused.replace("\n", "")
        assert "Traceback" not in refused

        rows = audit_rows(worker)  # written through the worker, which owns the database
        assert [r[:2] for r in rows] == [["replay", "dry_run"], ["replay", "refused"]]
        assert all(r[3] == "token:admin" and r[6].startswith("rules-") and r[7].startswith("scoring-") for r in rows)
        assert orjson.loads(rows[0][4]) == {"since": None, "offsets": None, "dry_run": True}
    finally:
        worker.stop()

    before = {(p.topic, p.partition): p for p in plan(settings).partitions}
    assert main(["replay", "--offsets", f"{tax}:0:1,{tax}:1:0"]) == 0
    capsys.readouterr()
    after = {(p.topic, p.partition): p for p in plan(settings).partitions}
    moved = {k for k in after if after[k].committed != before[k].committed}
    assert {k for k in moved} <= {(tax, 0), (tax, 1)}
    assert after[(tax, 0)].committed == 1 and after[(tax, 1)].committed == 0
    reread = (before[(tax, 0)].high - 1) + before[(tax, 1)].high

    assert main(["replay", "--offsets", f"{tax}:9:0"]) == 2
    assert "do not exist" in capsys.readouterr().err
    assert main(["replay", "--offsets", "nonsense"]) == 2
    capsys.readouterr()

    again = WorkerProcess(env, tmp_path / "w2.log")
    try:
        again.start()
        again.wait_for(lambda: again.counts()["consumed"] == reread, what="replayed records")
        counts = again.counts()  # the malformed record has no state: it is dead-lettered again (same row key)
        assert counts["applied"] == 0 and counts["duplicate"] + counts["dead_letter"] == reread
        assert again.query("SELECT count() FROM dead_letters FINAL") == [[1]]
        assert [r[:2] for r in audit_rows(again)][-1] == ["replay", "done"]  # the direct write, worker stopped
        assert orjson.loads(audit_rows(again)[-1][5])[0]["target"] in (0, 1)
    finally:
        again.stop()


def alert_versions(bootstrap: str, topic: str) -> dict[tuple[str, int], set[bytes]]:
    seen: dict[tuple[str, int], set[bytes]] = defaultdict(set)
    for msg in read_topic(bootstrap, topic):
        alert = orjson.loads(msg.value())
        seen[(alert["alert_id"], alert["version"])].add(msg.value())
    return seen


def test_rebuild_reprocesses_everything_and_ends_identical_to_a_clean_run(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap, partitions=1)  # one total order: scores are comparable
    use_env(monkeypatch, env)
    settings = settings_from(env)
    events = history()
    produce(settings, events)
    valid = len(events) - 1

    clean = WorkerProcess(env, tmp_path / "clean.log")
    try:
        clean.start()
        clean.wait_for(lambda: clean.counts()["consumed"] == len(events), what="clean run")
        baseline = results(clean)
        assert main(["rebuild", "--yes"]) == 2  # refused while the worker runs
        assert "live member" in capsys.readouterr().err
    finally:
        clean.stop()
    alerts_before = alert_versions(kafka_bootstrap, settings.kafka.topics.alerts)
    checkpoint = settings.worker.data_dir / settings.worker.app_id / "models.pkl"
    assert checkpoint.exists() and alerts_before

    assert main(["rebuild", "--yes"]) == 0
    printed = capsys.readouterr().out.replace("\n", " ")
    assert "changelog" in printed and "notified again" in printed
    assert not checkpoint.exists()

    rebuilt = WorkerProcess(env, tmp_path / "rebuilt.log")
    try:
        rebuilt.start()
        rebuilt.wait_for(lambda: rebuilt.counts()["consumed"] == len(events), what="reprocessed")
        assert rebuilt.counts()["applied"] == valid  # the state was discarded: every event applied again
        assert results(rebuilt, DASHBOARD_QUERIES) == baseline
        log = audit_rows(rebuilt)
        assert [r[:2] for r in log] == [["rebuild", "refused"], ["rebuild", "done"]]
    finally:
        rebuilt.stop()
    alerts_after = alert_versions(kafka_bootstrap, settings.kafka.topics.alerts)
    assert alerts_after.keys() == alerts_before.keys()  # no new (alert_id, version): nobody notified again
    assert all(len(values) == 1 for values in alerts_after.values())  # repeats are byte-identical


def ready(worker: WorkerProcess) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{worker.settings.web.base_url}/ready", timeout=15) as resp:  # noqa: S310
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


def test_ready_is_503_while_clickhouse_inserts_fail_and_metrics_show_lag_and_latency(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap) | {"ENTBRAIN_WORKER__INSERT_OUTAGE_SECONDS": "12"}
    settings = settings_from(env)
    events = history(6)
    worker = WorkerProcess(env, tmp_path / "w.log")
    try:
        worker.start()
        worker.wait_for(lambda: ready(worker)[0] == 200, timeout=60, what="ready before any input")
        produce(settings, events)
        worker.wait_for(lambda: ready(worker)[0] == 503, timeout=30, what="not ready during the outage")
        status, body = ready(worker)
        assert status == 503 and any("inserts are failing" in r for r in body["reasons"]), body
        worker.wait_for(lambda: total_lag(metrics(worker)) > 0, timeout=20, what="lag during the outage")
        worker.wait_for(lambda: worker.counts()["consumed"] == len(events), timeout=120, what="consumed after outage")
        worker.wait_for(lambda: ready(worker)[0] == 200, timeout=30, what="ready again")
        worker.wait_for(lambda: total_lag(metrics(worker)) == 0, timeout=20, what="no lag once consumed")
        text = metrics(worker)
        for name in ("entbrain_latency_from_event_time_seconds_count", "entbrain_latency_from_kafka_seconds_count",
                     "entbrain_sink_batch_rows_count", "entbrain_sink_flush_seconds_bucket", "entbrain_versions_info",
                     "entbrain_alerts_total", "entbrain_batch_stage_seconds_count"):  # fmt: skip
            assert name in text, name
        stages = worker.batch_stages()  # every batch is timed in each of its stages
        assert all(row["batches"] >= 1 and row["mean_s"] >= 0 for row in stages.values()), stages
        assert text.count("entbrain_consumer_lag{") == 3 * settings.kafka.partitions  # every input partition
        assert 'rules_version="rules-' in text
    finally:
        worker.stop()


def metrics(worker: WorkerProcess) -> str:
    with urllib.request.urlopen(f"{worker.settings.web.base_url}/metrics", timeout=10) as resp:  # noqa: S310
        return resp.read().decode()


def total_lag(text: str) -> float:
    lags = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("entbrain_consumer_lag{")]
    return sum(lags) if lags else -1.0


def test_the_worker_logs_json_lines(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap) | {"ENTBRAIN_LOG__FORMAT": "json", "ENTBRAIN_TEST_LOGLEVEL": "INFO"}
    settings = settings_from(env)
    events = history(2)
    produce(settings, events)
    worker = WorkerProcess(env, tmp_path / "w.log")
    try:
        worker.start()
        worker.wait_for(lambda: worker.counts()["consumed"] == len(events), what="input consumed")
    finally:
        worker.stop()
    lines = [line for line in worker.log.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = [orjson.loads(line) for line in lines if line.startswith("{")]
    assert len(parsed) > 5 and all({"ts", "level", "logger", "message"} <= set(p) for p in parsed)
    assert len(parsed) == len(lines), [line for line in lines if not line.startswith("{")][:5]


def test_backtest_uses_its_own_places_and_diffs_against_the_live_run(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    import yaml

    from config.rules import RULES_YAML
    from config.scoring import DEFAULT_SCORING_PATH

    env = isolated_env(tmp_path, kafka_bootstrap, partitions=1)  # one partition: the order is total
    use_env(monkeypatch, env)
    settings = settings_from(env)
    events = history(10)
    produce(settings, events)
    same = tmp_path / "same"
    same.mkdir()
    shutil.copy(RULES_YAML, same / "rules.yaml")
    shutil.copy(DEFAULT_SCORING_PATH, same / "scoring.yaml")
    alt = tmp_path / "alt"
    alt.mkdir()
    scoring = yaml.safe_load(DEFAULT_SCORING_PATH.read_text(encoding="utf-8"))
    scoring["tiers"][0]["all"] = ["composite >= 0"]  # everybody is a leader
    (alt / "scoring.yaml").write_text(yaml.safe_dump(scoring, allow_unicode=True, sort_keys=False), encoding="utf-8")

    worker = WorkerProcess(env, tmp_path / "w.log")
    try:
        worker.start()
        worker.wait_for(lambda: worker.counts()["consumed"] == len(events), what="live run")
        live_alerts_before = len(read_topic(kafka_bootstrap, settings.kafka.topics.alerts))
        for name, directory in (("same", same), ("alt", alt)):
            assert main(["backtest", "run", "--from", "2025-01-01", "--to", "2026-12-31", "--config", str(directory),
                         "--name", name]) == 0  # fmt: skip
        capsys.readouterr()
        assert main(["backtest", "diff", "same", "--json"]) == 0
        unchanged = orjson.loads(capsys.readouterr().out)
        assert unchanged["added"] == unchanged["removed"] == unchanged["tier_moves"] == []
        assert unchanged["unchanged"] > 0 and unchanged["enterprises_compared"] == 10
        assert main(["backtest", "diff", "alt", "--json"]) == 0
        moved = orjson.loads(capsys.readouterr().out)
        assert moved["tier_moves"] and all(m["to_tier"] == "leader" for m in moved["tier_moves"])
        assert moved["backtest"]["scoring_version"] != unchanged["backtest"]["scoring_version"]
        assert main(["backtest", "diff", "alt"]) == 0
        assert "tier moves" in capsys.readouterr().out

        assert len(read_topic(kafka_bootstrap, settings.kafka.topics.alerts)) == live_alerts_before  # nothing live
        assert read_topic(kafka_bootstrap, "backtest.alt.alerts")  # its own output topic
        assert worker.query("SELECT count() FROM events FINAL") == [[len(events) - 1]]  # live tables untouched
        operations = [r[:2] for r in audit_rows(worker)]
        assert operations.count(["backtest_run", "done"]) == 2 and operations.count(["backtest_diff", "done"]) == 3
        assert main(["backtest", "diff", "nope"]) == 2
    finally:
        worker.stop()
