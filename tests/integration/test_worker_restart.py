"""A worker killed mid-stream continues from the changelog: no reset, no double counting.

Guarantee: input is processed at least once (offsets are committed after the batch's
rows are in ClickHouse); the state remembers recent event ids per enterprise, so a
redelivered event is recognised as a duplicate. In effect the state counts are exact.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from factories import encode, make_uscc, monthly_value, social_security, vat
from worker_fixtures import WorkerProcess, isolated_env, produce

from streams.harness import settled

pytestmark = pytest.mark.kafka

ENTERPRISES = 20


def months(first: int, last: int) -> list[tuple[str, str, bytes]]:
    out = []
    for m in range(first, last + 1):
        for i in range(ENTERPRISES):
            u = make_uscc(100 + i)
            period = f"2025-{m:02d}"
            out.append(("tax", u, encode(vat(u, f"t{i}-{m}", period, revenue=f"{100 * m}.00"))))
            out.append(("social_security", u, encode(social_security(u, f"s{i}-{m}", period, 10 + m))))
    return out


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_state_continues_after_the_worker_is_stopped_mid_stream(
    tmp_path: Path, kafka_bootstrap: str, stop_signal: signal.Signals
) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap)
    env["ENTBRAIN_SINK__BATCH_MAX_EVENTS"] = "50"
    first = WorkerProcess(env, tmp_path / "worker1.log")
    settings = first.settings
    produced = produce(settings, months(1, 6))
    first.start()
    try:
        first.wait_for(lambda: first.counts()["applied"] >= 60, what="part of the stream applied")
    finally:
        first.stop(stop_signal)  # mid-stream: the rest is still unconsumed or uncommitted

    later = months(7, 12)
    produced += produce(settings, later + later[:15])  # 15 redeliveries of the same events
    second = WorkerProcess(env, tmp_path / "worker2.log").start()
    try:
        expected_events = ENTERPRISES * 12 * 2
        second.wait_for(
            lambda: second.query("SELECT count() FROM events FINAL") == [[expected_events]],
            what="every event in ClickHouse",
        )
        # rows are step 1 of the commit protocol, states step 3, offsets step 4: once every
        # input is committed, the last batch's states are written too
        second.wait_for(lambda: settled(settings), what="every input committed")
        for i in (0, 7, ENTERPRISES - 1):
            state = second.get_json(f"/api/enterprises/{make_uscc(100 + i)}")
            assert state["counts"] == {"tax": 12, "social_security": 12}, state["counts"]
            assert state["applied"] == 24
            assert monthly_value(state, "revenue", "2025-12") == 1200
        assert second.query("SELECT max(state_version), count() FROM enterprise_snapshot FINAL") == [[24, ENTERPRISES]]
        assert second.query("SELECT uniqExact(uscc, state_version), count() FROM scores FINAL") == [
            [ENTERPRISES * 24, ENTERPRISES * 24]
        ]
        # no fetched record was lost on its way to the worker (streams.input_guards): none read again
        # for a gap, no partition silent with records to fetch, nothing released unaligned for one
        assert second.metric("entbrain_offset_gaps_total") == 0
        assert second.metric("entbrain_silent_partition_seeks_total") == 0
        assert second.metric("entbrain_aligner_unaligned_releases", reason="idle") == 0
    finally:
        second.stop()


def test_a_fresh_worker_fetches_its_partitions_when_the_tables_recover_before_the_assignment_is_handled(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """faust recovers the tables before it sends the assignment signal; with empty changelogs
    the recovery can end first. The worker must still seek and fetch every assigned partition
    (before the fix it resumed before it knew them, and never fetched a record)."""
    env = isolated_env(tmp_path, kafka_bootstrap)
    env["ENTBRAIN_WORKER__ASSIGNMENT_DELAY_SECONDS"] = "3"
    worker = WorkerProcess(env, tmp_path / "worker.log")
    produce(worker.settings, months(1, 2))
    worker.start()
    try:
        worker.wait_for(lambda: worker.counts()["applied"] == ENTERPRISES * 2 * 2, timeout=120.0,
                        what="every event applied")  # fmt: skip
    finally:
        worker.stop()
