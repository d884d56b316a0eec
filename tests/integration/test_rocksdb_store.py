"""The enterprise table on RocksDB (``rocksdb://``): written in the commit protocol, kept
across a SIGKILL and a restart, equal to the oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import SimulationConfig, simulate
from streams.harness import WorkerProcess, isolated_env, settings_from, settled
from streams.produce import produce_all
from streams.send_times import stamped
from tests.oracle import expected_results, state_differences, worker_states

pytestmark = pytest.mark.kafka


def test_states_on_rocksdb_survive_a_kill_and_equal_the_oracle(tmp_path: Path, kafka_bootstrap: str) -> None:
    env = isolated_env(tmp_path, kafka_bootstrap, partitions=2) | {
        "ENTBRAIN_WORKER__TABLE_STORE": "rocksdb://"
    }
    settings = settings_from(env)
    messages = list(
        stamped(simulate(SimulationConfig(enterprises=30, months=3, seed=21, daily_invoices=False)))
    )
    produce_all(settings, messages[: len(messages) // 2], show_progress=False)
    first = WorkerProcess(env, tmp_path / "first.log").start()
    first.wait_for(lambda: settled(settings), what="the first half committed")
    first.kill()
    assert list((settings.worker.data_dir / settings.worker.app_id).rglob("*.sst")) or list(
        (settings.worker.data_dir / settings.worker.app_id).rglob("CURRENT")
    )
    produce_all(settings, messages[len(messages) // 2 :], show_progress=False)
    second = WorkerProcess(env, tmp_path / "second.log").start()
    try:
        second.wait_for(lambda: settled(settings), what="everything committed")
        states = worker_states(settings)
        for uscc in sorted(states)[:10]:
            assert second.get_json(f"/api/enterprises/{uscc}") == states[uscc]
    finally:
        second.stop()
    assert len(states) == 30
    assert state_differences(expected_results(settings).states, states) == []
