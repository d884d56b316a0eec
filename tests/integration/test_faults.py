"""The fault suite, short: kills at failpoints and at random, SIGTERM mid-batch, a broker
restart, a ClickHouse outage — each run ends equal to the offline oracle.

The long version is ``make faults`` (``python -m tests.faults``: ten kills over a 300-enterprise
park, and these tests with a 60-second ClickHouse outage).
"""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from config import Settings
from simulator import SimulationConfig, simulate
from streams import broker
from streams.harness import WorkerProcess, isolated_env, settings_from
from streams.produce import produce_all
from streams.send_times import SendClock
from tests.faults import FaultReport, all_committed, compare, finish, run

pytestmark = pytest.mark.kafka


def park(enterprises: int, months: int, seed: int) -> list[tuple[str, bytes, bytes, int]]:
    clock = SendClock()
    config = SimulationConfig(enterprises=enterprises, months=months, seed=seed)
    return [(m.kind, m.key, m.value, clock.stamp(m.business_time)) for m in simulate(config)]


def one_partition_env(tmp_path: Path, bootstrap: str, **extra: str) -> dict[str, str]:
    env = isolated_env(tmp_path, bootstrap, partitions=1)
    env["ENTBRAIN_SINK__BATCH_MAX_EVENTS"] = "500"
    return env | extra


def held_records(worker: WorkerProcess) -> int:
    req = urllib.request.Request(f"{worker.settings.web.base_url}/metrics")
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - the local worker
        text = resp.read().decode()
    held = [line.split()[-1] for line in text.splitlines() if line.startswith("entbrain_aligner_held_records ")]
    return int(float(held[0]))


def assert_equals_oracle(env: dict[str, str], tmp_path: Path, messages: int) -> FaultReport:
    settings = settings_from(env)
    report = FaultReport(0, 0, 0, 1, messages)
    finish(WorkerProcess(env, tmp_path / "final.log").start(), settings, report)
    compare(report, settings, exact=True)
    assert report.problems == []
    assert report.rows["events"] > 0
    return report


def test_kills_at_every_failpoint_and_at_random_end_equal_to_the_oracle(tmp_path: Path, kafka_bootstrap: str) -> None:
    report = run(tmp_path, enterprises=60, months=4, seed=5, kills=5)
    assert [k for k in report.kills if "not reached" in k.how] == []
    assert report.problems == [], report.problems
    assert report.states == 60
    assert report.rows["events"] > 4000


def test_sigterm_mid_batch_acknowledges_nothing_it_did_not_process(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = one_partition_env(tmp_path, kafka_bootstrap, ENTBRAIN_SINK__BATCH_MAX_EVENTS="2000",
                            ENTBRAIN_SINK__BATCH_MAX_SECONDS="2.0")  # fmt: skip
    messages = park(60, 4, seed=6)
    produce_all(settings_from(env), messages, show_progress=False)
    first = WorkerProcess(env, tmp_path / "first.log").start()
    first.wait_for(lambda: first.counts()["consumed"] > 0, what="a first batch committed")
    first.stop(signal.SIGTERM)  # the next batch is being processed
    assert_equals_oracle(env, tmp_path, len(messages))


def test_a_stop_with_records_held_for_alignment_is_prompt_and_loses_nothing(tmp_path: Path, kafka_bootstrap: str) -> None:
    """Held records are never acknowledged: faust must not wait for them at shutdown or rebalance."""
    hold = {"ENTBRAIN_WORKER__ALIGN_SETTLE_SECONDS": "600", "ENTBRAIN_WORKER__ALIGN_MAX_IDLE_SECONDS": "600"}
    env = one_partition_env(tmp_path, kafka_bootstrap)
    messages = [m for m in park(20, 2, seed=8) if m[0] == "tax"]  # the other inputs stay empty
    produce_all(settings_from(env), messages, show_progress=False)
    first = WorkerProcess(env | hold, tmp_path / "first.log").start()
    first.wait_for(lambda: held_records(first) == len(messages), what="every record held for alignment")
    started = time.monotonic()
    first.stop(signal.SIGTERM, timeout=60)
    assert first.proc is not None and first.proc.returncode == 0, first.log.read_text()[-2000:]
    assert time.monotonic() - started < 30
    assert_equals_oracle(env, tmp_path, len(messages))


def test_a_broker_restart_mid_stream_loses_nothing(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = one_partition_env(tmp_path, kafka_bootstrap)
    settings = settings_from(env)
    messages = park(60, 4, seed=7)
    half = len(messages) // 2
    produce_all(settings, messages[:half], show_progress=False)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_for(lambda: worker.counts()["consumed"] > 0, what="processing under way")
        base = Settings()
        broker.stop(base)
        time.sleep(5)
        broker.start(base)
        produce_all(settings, messages[half:], show_progress=False)
        worker.wait_for(lambda: all_committed(settings), timeout=300, what="the worker recovered by itself")
    finally:
        worker.stop()
    assert_equals_oracle(env, tmp_path, len(messages))


def test_a_clickhouse_outage_pauses_consumption_and_loses_nothing(tmp_path: Path, kafka_bootstrap: str) -> None:
    outage = float(os.environ.get("ENTBRAIN_FAULT_OUTAGE_SECONDS", "15"))
    env = one_partition_env(tmp_path, kafka_bootstrap, ENTBRAIN_WORKER__INSERT_OUTAGE_SECONDS=str(outage))
    messages = park(40, 3, seed=8)
    produce_all(settings_from(env), messages, show_progress=False)
    settings = settings_from(env)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        time.sleep(outage / 2)
        assert worker.counts()["consumed"] == 0  # nothing committed while inserts fail
        worker.wait_for(lambda: all_committed(settings), timeout=300, what="caught up after the outage")
        assert worker.counts()["consumed"] == len(messages)
    finally:
        worker.stop()
    assert_equals_oracle(env | {"ENTBRAIN_WORKER__INSERT_OUTAGE_SECONDS": "0"}, tmp_path, len(messages))
